/* Questions to the client, in both eras (server.h, "the era of a call").
 *
 * Legacy (2025-11-25 and earlier): the server sends elicitation/create while
 * the call runs and waits for the answer (call.c's server-to-client requests).
 * Modern (2026-07-28): the server never sends requests; it answers the call
 * with an InputRequiredResult naming what it needs, the client asks its user
 * and retries the same request with inputResponses (and the requestState the
 * server sealed), and the retry finds the answer waiting
 * (basic/patterns/mrtr.mdx). mcp_call_ask hides the difference from a tool:
 * it gets one callback with the answer either way, or learns that the call is
 * over until the client comes back. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A human reads the question: give them time (legacy elicitation/create). */
#define ASK_TIMEOUT_MS (5u * 60u * 1000u)

bool mcp_call_modern(const struct mcp_call *call)
{
    return call->rc.modern;
}

bool mcp_call_client_supports(const struct mcp_call *call, const char *capability)
{
    return mcp_ctx_supports(call->session, &call->rc, capability);
}

const json_t *mcp_call_input_response(const struct mcp_call *call, const char *key)
{
    const json_t *r = json_object_get(call->rc.input_responses, key);
    return json_is_object(r) ? r : NULL;
}

const json_t *mcp_call_request_state(const struct mcp_call *call)
{
    return call->rc.state;
}

void mcp_call_finish_input_required(struct mcp_call *call, json_t *requests, json_t *state)
{
    json_t *result = json_pack("{s:s}", "resultType", "input_required");
    char *sealed = NULL;

    if (requests != NULL)
        json_object_set_new(result, "inputRequests", requests);
    if (state != NULL || requests == NULL) {
        sealed = mcp_state_seal(call->session->server, call->method ? call->method : "",
                                call->params, state);
        if (sealed == NULL) {
            json_decref(result);
            json_decref(state);
            mcp_call_finish_error(call, MCP_INTERNAL_ERROR, "out of memory");
            return;
        }
        json_object_set_new(result, "requestState", json_string(sealed));
        free(sealed);
    }
    json_decref(state);
    /* Interim results carry no cache hints (caching.mdx), only who we are. */
    json_object_set_new(
        result, "_meta",
        json_pack("{s:O}", MCP_META_SERVER_INFO, call->session->server->server_info));
    mcp_call_reply_raw(call, result);
}

void mcp_call_finish_missing_capability(struct mcp_call *call, const char *capability)
{
    mcp_call_finish_error_data(call, MCP_MISSING_CAPABILITY,
                               json_pack("{s:{s:{}}}", "requiredCapabilities", capability),
                               "Missing required client capability: %s", capability);
}

/* ---- the question ------------------------------------------------------------ */

struct ask {
    mcp_answer_fn *fn;
    void *data;
};

enum mcp_answer mcp_answer_of(const json_t *result)
{
    const char *action = json_string_value(json_object_get(result, "action"));

    if (action != NULL && strcmp(action, "accept") == 0)
        return MCP_ANSWER_ACCEPT;
    if (action != NULL && (strcmp(action, "decline") == 0 || strcmp(action, "cancel") == 0))
        return MCP_ANSWER_DECLINE;
    return MCP_ANSWER_NONE;
}

static void on_elicited(struct mcp_call *call, const json_t *result, const json_t *error,
                        void *data)
{
    struct ask a = *(struct ask *)data;
    enum mcp_answer answer = MCP_ANSWER_NONE;

    free(data);
    if (call->task != NULL && call->task->call == call)
        mcp_task_waiting(call, -1);
    if (result != NULL && error == NULL)
        answer = mcp_answer_of(result);
    a.fn(call, answer, answer == MCP_ANSWER_ACCEPT ? json_object_get(result, "content") : NULL,
         a.data);
}

int mcp_call_ask(struct mcp_call *call, const char *key, const char *message, json_t *schema,
                 mcp_answer_fn *fn, void *data)
{
    json_t *params;
    const json_t *given;
    struct ask *a;
    int rc;

    if (!mcp_call_client_supports(call, "elicitation")) {
        json_decref(schema);
        return SZ_EUNSUPPORTED;
    }
    params = json_pack("{s:s, s:o}", "message", message, "requestedSchema", schema);
    /* A 2026-07-28 task asks through its inputRequests (tasks/update answers). */
    if (call->task != NULL && call->task->call == call && call->task->modern)
        return mcp_task_ask(call, key, params, fn, data);
    if (!call->rc.modern) {
        a = malloc(sizeof(*a));
        if (a == NULL) {
            json_decref(params);
            return SZ_ENOMEM;
        }
        a->fn = fn;
        a->data = data;
        rc = mcp_call_request(call, "elicitation/create", params, ASK_TIMEOUT_MS, on_elicited, a);
        if (rc != 0)
            free(a);
        else if (call->task != NULL && call->task->call == call)
            mcp_task_waiting(call, 1); /* input_required until the answer comes */
        return rc;
    }
    given = mcp_call_input_response(call, key);
    if (given != NULL && mcp_answer_of(given) != MCP_ANSWER_NONE) {
        enum mcp_answer answer = mcp_answer_of(given);
        json_decref(params);
        fn(call, answer, answer == MCP_ANSWER_ACCEPT ? json_object_get(given, "content") : NULL,
           data);
        return 0;
    }
    /* Ask, and come back with the answer: the key names the question, and the
     * sealed state says we asked it for this very request. */
    mcp_call_finish_input_required(
        call, json_pack("{s:{s:s, s:o}}", key, "method", "elicitation/create", "params", params),
        json_pack("{s:s}", "asked", key));
    return SZ_EPENDING;
}
