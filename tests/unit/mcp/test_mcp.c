/* The protocol engine, driven by data: each tests/data/mcp/<name>.case file is
 * a conversation. "> line" is sent to the engine verbatim, "< json" is the next
 * message we expect back (a subset match: every key given must match, "*"
 * matches any value, arrays match element by element), "~ ms" runs the loop
 * for that long. After the last line no unexpected message may remain.
 * A value "$name" in an expectation captures what came (or, once captured,
 * must equal it), and $name in a line sent is replaced by it (a string's
 * characters, a number's digits). ">> line" and "<< json" do the same on a
 * second session, another client of the same server. */
#include "fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "mcp/mcp_int.h" /* mcp_state_seal and mcp_state_open */
#include "mcp/server.h"

struct capture {
    json_t *messages; /* array of parsed outgoing messages, in order */
    int idle;         /* set when the session reports idle after close */
};

/* The variables of a conversation ("$name"), captured from messages. */
static json_t *case_vars;

static void capture_send(void *ctx, const char *msg, size_t len, const json_t *related_id,
                         bool final)
{
    struct capture *c = ctx;
    json_error_t err;
    json_t *m = json_loadb(msg, len, 0, &err);
    (void)related_id;
    (void) final;
    assert_non_null(m);
    json_array_append_new(c->messages, m);
}

/* ---- test tools ---------------------------------------------------------- */

struct later {
    uv_timer_t timer;
    struct mcp_call *call;
    json_int_t ms, steps, step;
    int fail;
};

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_end(struct later *l, int cancelled)
{
    uv_timer_stop(&l->timer);
    uv_close((uv_handle_t *)&l->timer, later_closed);
    if (cancelled || l->fail)
        mcp_call_fail(l->call, "later failed as asked");
    else
        mcp_call_finish(l->call, json_pack("{s:I}", "waited", l->ms));
}

static void later_tick(uv_timer_t *t)
{
    struct later *l = t->data;
    l->step++;
    mcp_call_progress(l->call, (double)l->step, (double)l->steps, NULL);
    if (l->step >= l->steps)
        later_end(l, 0);
}

static void later_cancel(struct mcp_call *call, void *data)
{
    (void)call;
    later_end(data, 1);
}

struct later_args {
    long long ms;
    long long steps; /* 0 when absent */
    bool fail;
};

static void later_start(struct mcp_call *call, const void *args)
{
    const struct later_args *a = args;
    struct later *l = calloc(1, sizeof(*l));
    uint64_t every;

    assert_non_null(l);
    l->call = call;
    l->ms = a->ms;
    l->steps = a->steps > 0 ? a->steps : 1;
    l->fail = a->fail;
    every = (uint64_t)(l->ms / l->steps);
    uv_timer_init(mcp_call_loop(call), &l->timer);
    l->timer.data = l;
    mcp_call_on_cancel(call, later_cancel, l);
    uv_timer_start(&l->timer, later_tick, every, every ? every : 1);
}

struct echo_args {
    const char *text;
};

static void echo_start(struct mcp_call *call, const void *args)
{
    const struct echo_args *a = args;
    mcp_call_log(call, SZ_LOG_INFO, "echo: %s", a->text);
    mcp_call_finish(call, json_deep_copy(mcp_call_args(call)));
}

static void writer_start(struct mcp_call *call, const void *args)
{
    (void)args;
    mcp_call_finish(call, json_object());
}

static const struct mcp_arg echo_rows[] = {
    {.name = "text",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct echo_args, text)},
};
static const struct mcp_field echo_fields[] = {{.name = "text", .types = MCP_T_STRING}};
static const struct mcp_field echo_result = {.types = MCP_T_OBJECT, MCP_FIELDS(echo_fields)};

static const struct mcp_arg later_rows[] = {
    {.name = "ms",
     .type = MCP_ARG_INT,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct later_args, ms)},
    {.name = "steps",
     .type = MCP_ARG_INT,
     .off = offsetof(struct later_args, steps),
     .min = MCP_LIMIT(1)},
    {.name = "fail", .type = MCP_ARG_BOOL, .off = offsetof(struct later_args, fail)},
};

/* "parsed": every row type, returned as the engine filled the struct, so the
 * cases can check defaults, enum indexes, lists and absence. */
struct parsed_args {
    const char *s;
    int e;
    long long i;
    bool flag;
    struct mcp_strings list;
    const json_t *obj;
    const char *later; /* default applied elsewhere: stays NULL */
};

static void parsed_start(struct mcp_call *call, const void *args)
{
    const struct parsed_args *a = args;
    json_t *list = json_array();

    for (size_t k = 0; k < a->list.n; k++)
        json_array_append_new(list, json_string(a->list.v[k]));
    mcp_call_finish(call, json_pack("{s:s?, s:i, s:I, s:b, s:o, s:O?, s:s?}", "s", a->s, "e", a->e,
                                    "i", (json_int_t)a->i, "flag", a->flag, "list", list, "obj",
                                    a->obj, "later", a->later));
}

static const char *const parsed_enum[] = {"a", "b", "c", NULL};
static const struct mcp_arg parsed_rows[] = {
    {.name = "s",
     .type = MCP_ARG_STRING,
     .off = offsetof(struct parsed_args, s),
     .min = MCP_LIMIT(2),
     .max = MCP_LIMIT(5),
     .pattern = "^[a-z]+$"},
    {.name = "e",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct parsed_args, e),
     .values = parsed_enum,
     MCP_DEFAULT_STR("b")},
    {.name = "i",
     .type = MCP_ARG_INT,
     .flags = MCP_ARG_REQUIRED,
     .off = offsetof(struct parsed_args, i),
     .min = MCP_LIMIT(0),
     .max = MCP_LIMIT(10)},
    {.name = "flag",
     .type = MCP_ARG_BOOL,
     .off = offsetof(struct parsed_args, flag),
     MCP_DEFAULT_BOOL(true)},
    {.name = "list",
     .type = MCP_ARG_STRINGS,
     .off = offsetof(struct parsed_args, list),
     .min = MCP_LIMIT(1),
     .min_items = 1,
     .max_items = 2},
    {.name = "obj", .type = MCP_ARG_OBJECT, .off = offsetof(struct parsed_args, obj)},
    {.name = "later",
     .type = MCP_ARG_STRING,
     .flags = MCP_ARG_DEFAULT_ELSEWHERE,
     .off = offsetof(struct parsed_args, later),
     MCP_DEFAULT_STR("x")},
};

static const struct mcp_tool tools[] = {
    {.name = "echo",
     .title = "Echo",
     .description = "returns its arguments",
     MCP_ARGS(struct echo_args, echo_rows),
     .output = &echo_result,
     .annotations = MCP_READ_ONLY,
     .start = echo_start},
    {.name = "later",
     MCP_ARGS(struct later_args, later_rows),
     .annotations = MCP_READ_ONLY | MCP_OPEN_WORLD,
     .start = later_start},
    {.name = "writer",
     .annotations = MCP_DESTRUCTIVE | MCP_IDEMPOTENT | MCP_OPEN_WORLD,
     .start = writer_start},
};

/* ---- a tool that asks one question (mcp_call_ask), for modern.case -------- */

static void asked(struct mcp_call *call, enum mcp_answer answer, const json_t *content, void *data)
{
    (void)data;
    mcp_call_log(call, SZ_LOG_INFO, "answered");
    mcp_call_finish(call, json_pack("{s:s, s:O}", "answer",
                                    answer == MCP_ANSWER_ACCEPT    ? "accept"
                                    : answer == MCP_ANSWER_DECLINE ? "decline"
                                                                   : "none",
                                    "content", content ? content : json_null()));
}

static void ask_start(struct mcp_call *call, const void *args)
{
    int rc;

    (void)args;
    rc = mcp_call_ask(
        call, "go", "Go on?",
        json_pack("{s:s, s:{s:{s:s}}}", "type", "object", "properties", "go", "type", "boolean"),
        asked, NULL);
    if (rc == SZ_EUNSUPPORTED)
        mcp_call_finish(call, json_pack("{s:s}", "answer", "cannot ask"));
}

static const struct mcp_tool ask_tool = {.name = "ask", .start = ask_start};

/* ---- tools that run as tasks, for tasks.case -------------------------------- */

/* "asker": asks one question a millisecond after it starts (so a task exists
 * by then), and answers with the answer. */
struct asker {
    uv_timer_t timer;
    struct mcp_call *call;
    bool asked;
};

static void asker_closed(uv_handle_t *h)
{
    free(h->data);
}

static void asker_answered(struct mcp_call *call, enum mcp_answer answer, const json_t *content,
                           void *data)
{
    struct asker *a = data;
    uv_close((uv_handle_t *)&a->timer, asker_closed);
    mcp_call_finish(call, json_pack("{s:s, s:O, s:s?}", "answer",
                                    answer == MCP_ANSWER_ACCEPT    ? "accept"
                                    : answer == MCP_ANSWER_DECLINE ? "decline"
                                                                   : "none",
                                    "content", content ? content : json_null(), "task",
                                    mcp_call_task_id(call)));
}

static void asker_tick(uv_timer_t *t)
{
    struct asker *a = t->data;
    int rc;

    a->asked = true;
    rc = mcp_call_ask(
        a->call, "go", "Go on?",
        json_pack("{s:s, s:{s:{s:s}}}", "type", "object", "properties", "go", "type", "boolean"),
        asker_answered, a);
    if (rc != 0) {
        uv_close((uv_handle_t *)&a->timer, asker_closed);
        mcp_call_fail(a->call, "could not ask: %d", rc);
    }
}

static void asker_cancel(struct mcp_call *call, void *data)
{
    struct asker *a = data;
    /* A 2025-11-25 question in flight is answered "none" by the engine. */
    if (a->asked && !mcp_call_modern(call))
        return;
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, asker_closed);
    mcp_call_fail(call, "cancelled");
}

static void asker_start(struct mcp_call *call, const void *args)
{
    struct asker *a = calloc(1, sizeof(*a));

    (void)args;
    assert_non_null(a);
    a->call = call;
    uv_timer_init(mcp_call_loop(call), &a->timer);
    a->timer.data = a;
    mcp_call_on_cancel(call, asker_cancel, a);
    uv_timer_start(&a->timer, asker_tick, 1, 0);
}

static const struct mcp_tool task_tools[] = {
    {.name = "slow",
     MCP_ARGS(struct later_args, later_rows),
     .task_support = MCP_TASK_OPTIONAL,
     .start = later_start},
    {.name = "must",
     MCP_ARGS(struct later_args, later_rows),
     .task_support = MCP_TASK_REQUIRED,
     .start = later_start},
    {.name = "asker", .task_support = MCP_TASK_OPTIONAL, .start = asker_start},
};

/* Registered for args.case and policy.case only (the others list the three above). */
static const struct mcp_tool parsed_tool = {
    .name = "parsed", MCP_ARGS(struct parsed_args, parsed_rows), .start = parsed_start};

/* "digits": a string enum whose values are numbers, as create_video's seconds
 * (policy.case only). Returns the index the engine parsed. */
struct digits_args {
    int seconds;
};

static void digits_start(struct mcp_call *call, const void *args)
{
    const struct digits_args *a = args;
    mcp_call_finish(call, json_pack("{s:i}", "seconds", a->seconds));
}

static const char *const digits_values[] = {"4", "8", "12", NULL};
static const struct mcp_arg digits_rows[] = {
    {.name = "seconds",
     .type = MCP_ARG_ENUM,
     .off = offsetof(struct digits_args, seconds),
     .values = digits_values},
};
static const struct mcp_tool digits_tool = {
    .name = "digits", MCP_ARGS(struct digits_args, digits_rows), .start = digits_start};

/* ---- a test resource provider: test://things/{a,b,c} ---------------------- */

static void things_list(struct mcp_call *call, void *data)
{
    json_t *items = json_array();
    (void)data;
    for (const char *n = "abc"; *n; n++) {
        char uri[64];
        snprintf(uri, sizeof(uri), "test://things/%c", *n);
        json_array_append_new(items, json_pack("{s:s, s:s}", "uri", uri, "name", uri + 14));
    }
    mcp_call_finish_list(call, items, 0);
}

static void things_read(struct mcp_call *call, const char *uri, void *data)
{
    const char *name = uri + strlen("test://things/");
    (void)data;
    if (strlen(name) != 1 || strchr("abc", name[0]) == NULL) {
        mcp_call_finish_error(call, MCP_RESOURCE_NOT_FOUND, "Resource not found: %s", uri);
        return;
    }
    mcp_call_finish_result(call, json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", uri,
                                           "mimeType", "text/plain", "text", name));
}

static void things_complete(struct mcp_call *call, const char *argument, const char *value,
                            void *data)
{
    json_t *values = json_array();
    (void)argument;
    (void)data;
    for (const char *n = "abc"; *n; n++)
        if (value[0] == '\0' || value[0] == *n)
            json_array_append_new(values, json_stringn(n, 1));
    mcp_call_finish_result(
        call, json_pack("{s:{s:o, s:b}}", "completion", "values", values, "hasMore", 0));
}

static const struct mcp_resource_provider things = {
    .uri_template = "test://things/{name}",
    .name = "things",
    .list = things_list,
    .read = things_read,
    .complete = things_complete,
};

/* ---- matching ------------------------------------------------------------ */

static int matches(const json_t *want, const json_t *got)
{
    if (json_is_string(want) && strcmp(json_string_value(want), "*") == 0)
        return got != NULL;
    if (json_is_string(want) && json_string_value(want)[0] == '$' && got != NULL) {
        const char *name = json_string_value(want) + 1;
        json_t *known = json_object_get(case_vars, name);
        if (known == NULL) {
            json_object_set(case_vars, name, (json_t *)(uintptr_t)got);
            return 1;
        }
        return json_equal(known, (json_t *)(uintptr_t)got);
    }
    if (got == NULL)
        return 0;
    if (json_is_object(want)) {
        const char *key;
        json_t *v;
        if (!json_is_object(got))
            return 0;
        json_object_foreach((json_t *)(uintptr_t)want, key, v)
        {
            if (!matches(v, json_object_get(got, key)))
                return 0;
        }
        return 1;
    }
    if (json_is_array(want)) {
        size_t i;
        json_t *v;
        if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
            return 0;
        json_array_foreach(want, i, v)
        {
            if (!matches(v, json_array_get(got, i)))
                return 0;
        }
        return 1;
    }
    if (json_is_number(want) && json_is_number(got))
        return json_number_value(want) == json_number_value(got);
    return json_equal((json_t *)(uintptr_t)want, (json_t *)(uintptr_t)got);
}

static void run_for(uv_loop_t *loop, uint64_t ms)
{
    uint64_t end = uv_now(loop) + ms;
    while (uv_now(loop) < end) {
        uv_run(loop, UV_RUN_NOWAIT);
        uv_sleep(1);
        uv_update_time(loop);
    }
}

static void idle_done(void *ctx)
{
    struct capture *c = ctx;
    c->idle = 1;
}

/* line with every $name replaced by its captured value (malloc'd). */
static char *substitute(const char *line)
{
    size_t cap = strlen(line) * 2 + 256, n = 0;
    char *out = malloc(cap);

    assert_non_null(out);
    while (*line != '\0') {
        char name[64], text[256];
        size_t k = 0;
        json_t *v;
        if (*line != '$') {
            out[n++] = *line++;
            continue;
        }
        line++;
        while (k + 1 < sizeof(name) && (isalnum((unsigned char)*line) || *line == '_'))
            name[k++] = *line++;
        name[k] = '\0';
        v = json_object_get(case_vars, name);
        if (v == NULL)
            fail_msg("no variable $%s captured yet", name);
        if (json_is_string(v))
            snprintf(text, sizeof(text), "%s", json_string_value(v));
        else
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        assert_true(n + strlen(text) + 1 < cap);
        memcpy(out + n, text, strlen(text));
        n += strlen(text);
    }
    out[n] = '\0';
    return out;
}

/* Waits for the next message of c and checks it against want (the text after
 * "< "); fails the test naming the line otherwise. */
static void expect(uv_loop_t *loop, struct capture *c, const char *name, int lineno,
                   const char *text)
{
    json_error_t err;
    json_t *want = json_loads(text, 0, &err);
    json_t *got;
    uint64_t deadline = uv_now(loop) + 3000;

    if (want == NULL)
        fail_msg("%s:%d: bad expectation: %s", name, lineno, err.text);
    while (json_array_size(c->messages) == 0 && uv_now(loop) < deadline) {
        uv_run(loop, UV_RUN_ONCE);
        uv_update_time(loop);
    }
    got = json_array_get(c->messages, 0);
    if (got == NULL)
        fail_msg("%s:%d: no message arrived, expected %s", name, lineno, text);
    if (!matches(want, got)) {
        char *dump = json_dumps(got, JSON_COMPACT);
        fail_msg("%s:%d:\n  expected %s\n  got      %s", name, lineno, text, dump);
    }
    json_array_remove(c->messages, 0);
    json_decref(want);
}

static void run_case(const char *name)
{
    char path[512];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    uv_loop_t loop;
    struct capture cap_out = {.messages = json_array()};
    struct capture cap_b = {.messages = json_array()};
    struct mcp_server *server;
    struct mcp_session *session, *other = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/mcp/%s", SZ_TEST_DATA, name);
    f = fopen(path, "r");
    assert_non_null(f);
    uv_loop_init(&loop);
    server = mcp_server_new(&loop, "sanzaru-test", "0.0.0", "test instructions");
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        assert_int_equal(mcp_server_add_tool(server, &tools[i]), 0);
    assert_int_equal(mcp_server_add_resource(server, &things), 0);
    if (strcmp(name, "paging.case") == 0)
        mcp_server_set_page_size(server, 2);
    if (strcmp(name, "modern.case") == 0)
        assert_int_equal(mcp_server_add_tool(server, &ask_tool), 0);
    if (strcmp(name, "args.case") == 0 || strcmp(name, "policy.case") == 0)
        assert_int_equal(mcp_server_add_tool(server, &parsed_tool), 0);
    if (strcmp(name, "policy.case") == 0)
        assert_int_equal(mcp_server_add_tool(server, &digits_tool), 0);
    if (strcmp(name, "tasks.case") == 0)
        for (size_t i = 0; i < sizeof(task_tools) / sizeof(task_tools[0]); i++)
            assert_int_equal(mcp_server_add_tool(server, &task_tools[i]), 0);
    case_vars = json_object();
    /* args.case is the strict validator (policy 0, JSON-RPC errors); every
     * other conversation runs under the default, MCP_ARGS_DEFAULT. */
    if (strcmp(name, "args.case") == 0)
        assert_int_equal(mcp_server_set_arg_policy(server, 0), 0);
    session = mcp_session_new(server, capture_send, &cap_out);

    while ((n = getline(&line, &cap, f)) != -1) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n < 2 || line[0] == '#')
            continue;
        if (line[0] == '>') {
            bool second = line[1] == '>';
            char *text = substitute(line + (second ? 3 : 2));
            if (second && other == NULL)
                other = mcp_session_new(server, capture_send, &cap_b);
            mcp_session_handle(second ? other : session, text, strlen(text));
            free(text);
        } else if (line[0] == '~') {
            run_for(&loop, (uint64_t)atoi(line + 2));
        } else if (line[0] == '<') {
            bool second = line[1] == '<';
            expect(&loop, second ? &cap_b : &cap_out, name, lineno, line + (second ? 3 : 2));
        }
    }
    run_for(&loop, 20);
    if (json_array_size(cap_out.messages) != 0 || json_array_size(cap_b.messages) != 0) {
        char *text = json_dumps(cap_out.messages, JSON_COMPACT);
        char *text_b = json_dumps(cap_b.messages, JSON_COMPACT);
        fail_msg("%s: unexpected extra messages: %s %s", name, text, text_b);
    }
    mcp_session_close(session, idle_done);
    if (other != NULL)
        mcp_session_close(other, idle_done);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(cap_out.idle, 1);
    mcp_server_close_tasks(server, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    mcp_server_free(server);
    json_decref(cap_b.messages);
    json_decref(case_vars);
    case_vars = NULL;
    assert_int_equal(uv_loop_close(&loop), 0);
    json_decref(cap_out.messages);
    free(line);
    fclose(f);
}

static void test_lifecycle(void **state)
{
    (void)state;
    run_case("lifecycle.case");
}

static void test_bad_input(void **state)
{
    (void)state;
    run_case("bad-input.case");
}

static void test_calls(void **state)
{
    (void)state;
    run_case("calls.case");
}

static void test_paging(void **state)
{
    (void)state;
    run_case("paging.case");
}

static void test_args(void **state)
{
    (void)state;
    run_case("args.case");
}

static void test_policy(void **state)
{
    (void)state;
    run_case("policy.case");
}

static void test_modern(void **state)
{
    (void)state;
    run_case("modern.case");
}

static void test_tasks(void **state)
{
    (void)state;
    run_case("tasks.case");
}

/* requestState: what one server seals it opens for the same request only, and refuses
 * altered, expired or foreign state with a reason (mrtr.mdx, "Server Requirements"). */
static void test_state(void **state)
{
    uv_loop_t loop;
    struct mcp_server *a, *b;
    json_t *params = json_pack("{s:s, s:{s:i}}", "name", "download", "arguments", "n", 1);
    json_t *other = json_pack("{s:s, s:{s:i}}", "name", "download", "arguments", "n", 2);
    json_t *payload = json_pack("{s:s}", "asked", "go");
    json_t *got = NULL;
    char why[256];
    char *sealed, *tampered;
    (void)state;

    uv_loop_init(&loop);
    a = mcp_server_new(&loop, "a", "0", NULL);
    b = mcp_server_new(&loop, "b", "0", NULL);
    sealed = mcp_state_seal(a, "tools/call", params, payload);
    assert_non_null(sealed);
    assert_int_equal(mcp_state_open(a, "tools/call", params, sealed, &got, why, sizeof(why)), 0);
    assert_true(json_equal(got, payload));
    json_decref(got);
    /* another request: other arguments, another method */
    assert_int_equal(mcp_state_open(a, "tools/call", other, sealed, &got, why, sizeof(why)),
                     SZ_EINVAL);
    assert_non_null(strstr(why, "another request"));
    assert_int_equal(mcp_state_open(a, "prompts/get", params, sealed, &got, why, sizeof(why)),
                     SZ_EINVAL);
    /* altered: one character of the payload */
    tampered = strdup(sealed);
    tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
    assert_int_equal(mcp_state_open(a, "tools/call", params, tampered, &got, why, sizeof(why)),
                     SZ_EINVAL);
    assert_non_null(strstr(why, "integrity"));
    assert_null(got);
    /* another server's random key, then the same configured key on both */
    assert_int_equal(mcp_state_open(b, "tools/call", params, sealed, &got, why, sizeof(why)),
                     SZ_EINVAL);
    free(sealed);
    assert_int_equal(mcp_server_set_state_key(a, "0123456789abcdef-shared", 23), 0);
    assert_int_equal(mcp_server_set_state_key(b, "0123456789abcdef-shared", 23), 0);
    assert_int_equal(mcp_server_set_state_key(b, "short", 5), SZ_EINVAL);
    sealed = mcp_state_seal(a, "tools/call", params, payload);
    assert_int_equal(mcp_state_open(b, "tools/call", params, sealed, &got, why, sizeof(why)), 0);
    json_decref(got);
    free(sealed);
    /* expired: a 1 ms lifetime, opened well after */
    mcp_server_set_state_ttl(a, 1);
    sealed = mcp_state_seal(a, "tools/call", params, payload);
    usleep(20000);
    assert_int_equal(mcp_state_open(a, "tools/call", params, sealed, &got, why, sizeof(why)),
                     SZ_EINVAL);
    assert_non_null(strstr(why, "expired"));
    /* malformed */
    assert_int_equal(mcp_state_open(a, "tools/call", params, "no dot", &got, why, sizeof(why)),
                     SZ_EINVAL);
    free(sealed);
    free(tampered);
    json_decref(params);
    json_decref(other);
    json_decref(payload);
    mcp_server_free(a);
    mcp_server_free(b);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A message the transport parsed already is served as if sent as text, and
 * left as it was: borrowed, not modified (the HTTP transport parses a POST
 * body once, for its own first look and for the engine). */
static void test_handle_parsed(void **state)
{
    uv_loop_t loop;
    struct capture out = {.messages = json_array()};
    struct mcp_server *server;
    struct mcp_session *session;
    json_t *init =
        json_pack("{s:s, s:i, s:s, s:{s:s, s:{}}}", "jsonrpc", "2.0", "id", 1, "method",
                  "initialize", "params", "protocolVersion", "2025-11-25", "capabilities");
    json_t *list = json_pack("{s:s, s:i, s:s}", "jsonrpc", "2.0", "id", 2, "method", "tools/list");
    json_t *call =
        json_pack("{s:s, s:i, s:s, s:{s:s, s:{s:s}}}", "jsonrpc", "2.0", "id", 3, "method",
                  "tools/call", "params", "name", "echo", "arguments", "text", "hi");
    json_t *before = json_deep_copy(list);
    json_t *reply;
    (void)state;

    uv_loop_init(&loop);
    server = mcp_server_new(&loop, "t", "0", NULL);
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        assert_int_equal(mcp_server_add_tool(server, &tools[i]), 0);
    session = mcp_session_new(server, capture_send, &out);
    assert_int_equal(mcp_session_handle_json(session, init), MCP_MSG_REQUEST);
    assert_int_equal(mcp_session_handle_json(session, list), MCP_MSG_REQUEST);
    assert_int_equal(mcp_session_handle_json(session, call), MCP_MSG_REQUEST);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(json_array_size(out.messages), 4); /* 3 replies and echo's log */
    assert_true(json_equal(list, before));              /* no "params" added */
    assert_int_equal(list->refcount, 1);
    assert_int_equal(call->refcount, 1);
    reply = json_object_get(json_array_get(out.messages, 3), "result");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(reply, "structuredContent"), "text")),
        "hi");
    mcp_session_close(session, idle_done);
    uv_run(&loop, UV_RUN_DEFAULT);
    mcp_server_free(server);
    assert_int_equal(uv_loop_close(&loop), 0);
    json_decref(init);
    json_decref(list);
    json_decref(call);
    json_decref(before);
    json_decref(out.messages);
}

/* ---- error kinds: a tool error says what kind it is (_meta sanzaru/errorKind) ---- */

struct refuse_args {
    const char *kind;
};

static const struct mcp_arg refuse_rows[] = {
    {.name = "kind", .type = MCP_ARG_STRING, .off = offsetof(struct refuse_args, kind)},
};

static void refuse_start(struct mcp_call *call, const void *args)
{
    const struct refuse_args *a = args;
    if (a->kind == NULL)
        mcp_call_fail(call, "no kind");
    else
        mcp_call_fail_kind(call, mcp_error_kind_parse(a->kind), "refused as %s", a->kind);
}

static const struct mcp_tool refuse_tool = {
    .name = "refuse", MCP_ARGS(struct refuse_args, refuse_rows), .start = refuse_start};

/* Calls refuse (modern: through the 2026-07-28 envelope) and returns its result. */
static json_t *refuse_call(const char *kind, bool modern)
{
    uv_loop_t loop;
    struct capture out = {.messages = json_array()};
    struct mcp_server *server;
    struct mcp_session *session;
    json_t *init =
        json_pack("{s:s, s:i, s:s, s:{s:s, s:{}}}", "jsonrpc", "2.0", "id", 1, "method",
                  "initialize", "params", "protocolVersion", "2025-11-25", "capabilities");
    json_t *call = json_pack("{s:s, s:i, s:s, s:{s:s, s:{}}}", "jsonrpc", "2.0", "id", 2, "method",
                             "tools/call", "params", "name", "refuse", "arguments");
    json_t *params = json_object_get(call, "params");
    json_t *result;

    if (kind != NULL)
        json_object_set_new(json_object_get(params, "arguments"), "kind", json_string(kind));
    if (modern)
        json_object_set_new(params, "_meta",
                            json_pack("{s:s, s:{}}", "io.modelcontextprotocol/protocolVersion",
                                      "2026-07-28", "io.modelcontextprotocol/clientCapabilities"));
    uv_loop_init(&loop);
    server = mcp_server_new(&loop, "t", "0", NULL);
    assert_int_equal(mcp_server_add_tool(server, &refuse_tool), 0);
    session = mcp_session_new(server, capture_send, &out);
    if (!modern)
        assert_int_equal(mcp_session_handle_json(session, init), MCP_MSG_REQUEST);
    assert_int_equal(mcp_session_handle_json(session, call), MCP_MSG_REQUEST);
    uv_run(&loop, UV_RUN_DEFAULT);
    result = json_incref(json_object_get(json_array_get(out.messages, modern ? 0 : 1), "result"));
    assert_non_null(result);
    mcp_session_close(session, idle_done);
    uv_run(&loop, UV_RUN_DEFAULT);
    mcp_server_free(server);
    assert_int_equal(uv_loop_close(&loop), 0);
    json_decref(init);
    json_decref(call);
    json_decref(out.messages);
    return result;
}

static void test_error_kinds(void **state)
{
    static const char *const names[] = {"configuration", "input",     "not_found",
                                        "upstream",      "cancelled", "internal"};
    (void)state;

    /* Every kind's name reads back as the kind, in both eras, beside the engine's own _meta. */
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        enum mcp_error_kind kind = mcp_error_kind_parse(names[i]);
        assert_int_not_equal(kind, MCP_ERROR_UNKNOWN);
        assert_string_equal(mcp_error_kind_name(kind), names[i]);
        for (int modern = 0; modern <= 1; modern++) {
            json_t *r = refuse_call(names[i], modern);
            const json_t *meta = json_object_get(r, "_meta");
            assert_true(json_is_true(json_object_get(r, "isError")));
            assert_string_equal(json_string_value(json_object_get(meta, MCP_META_ERROR_KIND)),
                                names[i]);
            assert_int_equal(mcp_result_error_kind(r), kind);
            if (modern)
                assert_non_null(json_object_get(meta, "io.modelcontextprotocol/serverInfo"));
            json_decref(r);
        }
    }
    assert_int_equal(mcp_result_error_kind(NULL), MCP_ERROR_UNKNOWN);
    assert_int_equal(mcp_error_kind_parse("Configuration"), MCP_ERROR_UNKNOWN);
    assert_int_equal(mcp_error_kind_parse(NULL), MCP_ERROR_UNKNOWN);
    assert_null(mcp_error_kind_name(MCP_ERROR_UNKNOWN));
    assert_null(mcp_error_kind_name((enum mcp_error_kind)99));

    /* An unclassified error, or an unknown name, carries no kind at all. */
    for (int modern = 0; modern <= 1; modern++) {
        json_t *plain = refuse_call(NULL, modern);
        json_t *odd = refuse_call("weird", modern);
        assert_null(json_object_get(json_object_get(plain, "_meta"), MCP_META_ERROR_KIND));
        assert_null(json_object_get(json_object_get(odd, "_meta"), MCP_META_ERROR_KIND));
        assert_int_equal(mcp_result_error_kind(plain), MCP_ERROR_UNKNOWN);
        if (!modern)
            assert_null(json_object_get(plain, "_meta"));
        json_decref(plain);
        json_decref(odd);
    }
    /* A successful result says no kind, whatever its _meta holds. */
    {
        json_t *ok = json_pack("{s:{s:s}}", "_meta", MCP_META_ERROR_KIND, "configuration");
        assert_int_equal(mcp_result_error_kind(ok), MCP_ERROR_UNKNOWN);
        json_decref(ok);
    }
}

/* A table the engine cannot honour is refused at registration, naming why. */
static void test_bad_tables(void **state)
{
    static const char *const ab[] = {"a", "b", NULL};
    static const struct mcp_arg bad_default[] = {{.name = "e",
                                                  .type = MCP_ARG_ENUM,
                                                  .off = offsetof(struct parsed_args, e),
                                                  .values = ab,
                                                  MCP_DEFAULT_STR("z")}};
    static const struct mcp_arg twice[] = {
        {.name = "s", .type = MCP_ARG_STRING, .off = offsetof(struct parsed_args, s)},
        {.name = "s", .type = MCP_ARG_STRING, .off = offsetof(struct parsed_args, later)}};
    static const struct mcp_arg outside[] = {
        {.name = "i", .type = MCP_ARG_INT, .off = sizeof(struct parsed_args)}};
    static const struct mcp_arg bad_pattern[] = {{.name = "s",
                                                  .type = MCP_ARG_STRING,
                                                  .off = offsetof(struct parsed_args, s),
                                                  .pattern = "(["}};
    static const struct mcp_arg enum_without_values[] = {
        {.name = "e", .type = MCP_ARG_ENUM, .off = offsetof(struct parsed_args, e)}};
    const struct mcp_tool bad[] = {
        {.name = "t1", MCP_ARGS(struct parsed_args, bad_default), .start = parsed_start},
        {.name = "t2", MCP_ARGS(struct parsed_args, twice), .start = parsed_start},
        {.name = "t3", MCP_ARGS(struct parsed_args, outside), .start = parsed_start},
        {.name = "t4", MCP_ARGS(struct parsed_args, bad_pattern), .start = parsed_start},
        {.name = "t5", MCP_ARGS(struct parsed_args, enum_without_values), .start = parsed_start},
    };
    uv_loop_t loop;
    struct mcp_server *server;
    (void)state;

    uv_loop_init(&loop);
    server = mcp_server_new(&loop, "t", "0", NULL);
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        assert_int_equal(mcp_server_add_tool(server, &bad[k]), SZ_EINVAL);
    mcp_server_free(server);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Closing a session with calls in flight cancels them, sends nothing more, and
 * reports idle only once the last call finished. */
static void test_close_cancels_calls(void **state)
{
    uv_loop_t loop;
    struct capture out = {.messages = json_array()};
    struct mcp_server *server;
    struct mcp_session *session;
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}";
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"later\",\"arguments\":{\"ms\":60000}}}";
    (void)state;

    uv_loop_init(&loop);
    server = mcp_server_new(&loop, "t", "0", NULL);
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        mcp_server_add_tool(server, &tools[i]);
    session = mcp_session_new(server, capture_send, &out);
    assert_int_equal(mcp_session_handle(session, init, strlen(init)), MCP_MSG_REQUEST);
    assert_int_equal(mcp_session_handle(session, call, strlen(call)), MCP_MSG_REQUEST);
    assert_int_equal(mcp_session_calls_in_flight(session), 1);
    mcp_session_close(session, idle_done);
    assert_int_equal(out.idle, 1); /* the cancel handler finished the call at once */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(json_array_size(out.messages), 1); /* only the initialize reply */
    mcp_server_free(server);
    assert_int_equal(uv_loop_close(&loop), 0);
    json_decref(out.messages);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* the conversations of tests/data/mcp */
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_calls),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_modern),
        cmocka_unit_test(test_tasks),
        /* the rest */
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_bad_tables),
        cmocka_unit_test(test_handle_parsed),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_close_cancels_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
