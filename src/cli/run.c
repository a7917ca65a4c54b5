/* Running a command: each input is an item that calls its tool, and, when
 * told to wait, polls the job's status tool on a uv_timer (the interval grows
 * by half each time up to a ceiling: a job that takes minutes is looked at
 * less often as it goes on), then calls the download tool. All of it is tool
 * calls through the in-process session: the CLI adds the waiting and the
 * rendering, never a second way to do what a tool does.
 *
 * An item ends exactly once (finish), writing its envelope at that moment, so
 * a batch streams one JSON line per input as each ends. When the last one
 * has, the session and the handles are closed and the loop is stopped.
 *
 * Each item is a small state machine (call -> wait -> save -> done) spread
 * over the reply callbacks below. */
#include "fmacros.h"

#include "cli/cli_int.h"
#include "mcp/server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void poll_status(struct cli_item *it);
static void call_saver(struct cli_item *it);
static void consider(struct cli_item *it, const json_t *obj);

/* ---- ending ------------------------------------------------------------------- */

/* " --flag value" for one saved argument (booleans as --flag / --no-flag). */
static size_t resume_flag(char *out, size_t outlen, const char *name, const json_t *v)
{
    char flag[64], word[1024], *text = NULL;

    cli_kebab(name, flag, sizeof(flag));
    if (json_is_boolean(v))
        return (size_t)snprintf(out, outlen, " --%s%s", json_is_true(v) ? "" : "no-", flag);
    if (!json_is_string(v))
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    cli_shell_quote(text != NULL           ? text
                    : json_string_value(v) ? json_string_value(v)
                                           : "",
                    word, sizeof(word));
    free(text);
    return (size_t)snprintf(out, outlen, " --%s %s", flag, word);
}

/* The command to go on with a job that is still running (or done, and not yet
 * saved): `sanzaru wait ID`, with how it was to be saved (-o as given, the
 * download tool's arguments as flags). */
static void resume_hint(const struct cli_item *it, char *out, size_t outlen)
{
    const struct cli_invocation *inv = &it->cli->inv;
    bool own = inv->cmd->role == CLI_ROLE_DOWNLOAD; /* the command's tool saves */
    const json_t *saving = own ? it->args : inv->dl_args;
    const char *skip_id = cli_jobkinds[it->job].id_param;
    const char *skip_out = inv->cmd->special == CLI_SPECIAL_WAIT ? "filename" : inv->cmd->out_param;
    const char *key;
    json_t *v;
    size_t used;

    used = (size_t)snprintf(out, outlen, "sanzaru wait %s", it->id);
    if ((own || inv->download) && inv->output == NULL && used < outlen)
        used += (size_t)snprintf(out + used, outlen - used, " --download");
    if (inv->output != NULL && used < outlen) {
        char word[1024];
        cli_shell_quote(inv->output, word, sizeof(word));
        used += (size_t)snprintf(out + used, outlen - used, " -o %s", word);
    }
    json_object_foreach(cli_mut(saving), key, v)
    {
        if (used >= outlen || strcmp(key, skip_id) == 0 ||
            (inv->output != NULL && skip_out != NULL && strcmp(key, skip_out) == 0))
            continue;
        used += resume_flag(out + used, outlen - used, key, v);
    }
}

static void all_done(struct cli *cli);

/* Ends the item: writes its envelope (result borrowed) and counts it. */
static void finish(struct cli_item *it, int status, const json_t *result, const char *message)
{
    struct cli *cli = it->cli;
    json_t *extra = json_object();
    char resume[2048];

    if (it->phase == CLI_PHASE_DONE)
        return;
    it->phase = CLI_PHASE_DONE;
    it->call = 0;
    uv_timer_stop(&it->timer);
    if (cli->nitems > 1)
        json_object_set_new(extra, "index", json_integer((json_int_t)it->index));
    if (it->id[0] != '\0')
        json_object_set_new(extra, "id", json_string(it->id));
    /* A job that exists goes on: say how to pick it up again. */
    if (it->id[0] != '\0' && (status == CLI_EXIT_TIMEOUT || status == CLI_EXIT_INTERRUPTED ||
                              (status == CLI_EXIT_ERROR && it->job_obj != NULL))) {
        resume_hint(it, resume, sizeof(resume));
        json_object_set_new(extra, "resume", json_string(resume));
    }
    if (status != CLI_EXIT_OK && it->job_obj != NULL)
        json_object_set(extra, "job", it->job_obj);
    cli_emit(&cli->out, cli->inv.cmd->name, result, status, message, extra);
    json_decref(extra);
    it->status = status;
    if (--cli->running == 0)
        all_done(cli);
}

/* Reads a tools/call reply: 0 with *pobj (borrowed) the structured result, or
 * the exit status after writing the sentence to msg. */
static int read_reply(const struct cli_tool *tool, const json_t *result, const json_t *error,
                      const json_t **pobj, char *msg, size_t msglen)
{
    const json_t *content = json_object_get(result, "content");
    const char *text = json_string_value(json_object_get(json_array_get(content, 0), "text"));

    *pobj = NULL;
    if (error != NULL) {
        const char *m = json_string_value(json_object_get(error, "message"));
        if (json_integer_value(json_object_get(error, "code")) == MCP_INVALID_PARAMS) {
            cli_flagify(m ? m : "invalid arguments", msg, msglen);
            return CLI_EXIT_USAGE;
        }
        snprintf(msg, msglen, "%s", m ? m : "the engine failed the call");
        return CLI_EXIT_ERROR;
    }
    if (json_is_true(json_object_get(result, "isError"))) {
        /* The tool says what kind of error it is (_meta sanzaru/errorKind, set where
         * the error is raised): a configuration problem is exit 3, whatever its
         * sentence says. */
        snprintf(msg, msglen, "%s", text ? text : "the tool failed");
        return mcp_result_error_kind(result) == MCP_ERROR_CONFIGURATION ? CLI_EXIT_CONFIG
                                                                        : CLI_EXIT_ERROR;
    }
    *pobj = json_object_get(result, "structuredContent");
    if (*pobj == NULL) {
        snprintf(msg, msglen, "%s returned no structured result", tool ? tool->name : "the tool");
        return CLI_EXIT_ERROR;
    }
    return 0;
}

/* A copy of a saving tool's result with "path": where the file is. */
static json_t *with_path(const struct cli_item *it, const json_t *obj, enum cli_media media)
{
    const struct cli_command *cmd = it->cli->inv.cmd;
    const char *field = cmd->special == CLI_SPECIAL_WAIT ? "filename" : cmd->saved_field;
    const char *name = field ? json_string_value(json_object_get(obj, field)) : NULL;
    const char *root = it->cli->media_path[media];
    json_t *copy = json_deep_copy(obj);

    if (copy != NULL && name != NULL && root != NULL)
        json_object_set_new(copy, "path", json_sprintf("%s/%s", root, name));
    return copy;
}

/* ---- the main call ------------------------------------------------------------ */

static void on_main_reply(void *data, const json_t *result, const json_t *error)
{
    struct cli_item *it = data;
    const struct cli_command *cmd = it->cli->inv.cmd;
    const json_t *obj;
    char msg[2048];
    json_t *shown;
    int rc;

    it->call = 0;
    rc = read_reply(it->cli->inv.tool, result, error, &obj, msg, sizeof(msg));
    if (rc != 0) {
        finish(it, rc, NULL, msg);
        return;
    }
    if (cmd->role == CLI_ROLE_START && it->cli->inv.wait &&
        json_is_string(json_object_get(obj, "id"))) {
        snprintf(it->id, sizeof(it->id), "%s", json_string_value(json_object_get(obj, "id")));
        json_decref(it->job_obj);
        it->job_obj = json_deep_copy(obj);
        it->phase = CLI_PHASE_WAIT;
        it->started_ms = uv_now(it->cli->opts.loop);
        it->deadline_ms = it->started_ms + it->cli->inv.timeout_ms;
        it->interval_ms = it->cli->poll_first_ms[it->job];
        consider(it, it->job_obj);
        return;
    }
    shown = with_path(it, obj,
                      cmd->job != CLI_JOB_NONE ? cli_jobkinds[cmd->job].media : cmd->out_media);
    finish(it, CLI_EXIT_OK, shown, NULL);
    json_decref(shown);
}

/* Calls tool with args (stolen); fn gets the reply. Out of memory ends the
 * item at once. */
static void call_tool(struct cli_item *it, const char *tool, json_t *args, cli_reply_fn *fn)
{
    it->call_started_ns = uv_hrtime();
    it->call = cli_rpc_call(it->cli->rpc, "tools/call",
                            json_pack("{s:s, s:o}", "name", tool, "arguments", args), fn, it);
    if (it->call == 0)
        finish(it, CLI_EXIT_ERROR, NULL, "out of memory");
}

/* ---- waiting ------------------------------------------------------------------ */

static bool status_is(const json_t *obj, const char *const *set)
{
    const char *status = json_string_value(json_object_get(obj, "status"));
    for (size_t i = 0; status != NULL && set[i] != NULL; i++)
        if (strcmp(status, set[i]) == 0)
            return true;
    return false;
}

static const char *const done_states[] = {"completed", NULL};
static const char *const failed_states[] = {"failed", "cancelled", "incomplete", "expired", NULL};

static void show_wait(struct cli_item *it)
{
    struct cli *cli = it->cli;
    const json_t *progress = json_object_get(it->job_obj, "progress");
    double elapsed = (double)(uv_now(cli->opts.loop) - it->started_ms) / 1000.0;
    struct cli_progress p = {
        .command = cli->inv.cmd->name,
        .label = it->id,
        .phase = "wait",
        .status = json_string_value(json_object_get(it->job_obj, "status")),
        .percent = json_is_number(progress) ? json_number_value(progress) : -1,
        .elapsed_s = elapsed,
        .eta_s = -1,
    };

    if (p.percent > 0 && p.percent < 100)
        p.eta_s = elapsed * (100 - p.percent) / p.percent;
    cli_show_progress(&cli->out, &p);
}

static void on_poll_timer(uv_timer_t *timer)
{
    poll_status(timer->data);
}

/* After a status that is neither done nor failed: the next poll, or the end
 * of the wait. The last poll falls on the deadline itself. */
static void next_poll(struct cli_item *it)
{
    uint64_t now = uv_now(it->cli->opts.loop);
    uint64_t delay = it->interval_ms;
    char msg[512];

    if (now >= it->deadline_ms) {
        snprintf(msg, sizeof(msg),
                 "%s is still %s after %.0f s of waiting; the job keeps running: resume with the "
                 "command in resume",
                 it->id, json_string_value(json_object_get(it->job_obj, "status")),
                 (double)(now - it->started_ms) / 1000.0);
        finish(it, CLI_EXIT_TIMEOUT, NULL, msg);
        return;
    }
    if (delay > it->deadline_ms - now)
        delay = it->deadline_ms - now;
    it->interval_ms = it->interval_ms + it->interval_ms / 2;
    if (it->interval_ms > it->cli->poll_max_ms[it->job])
        it->interval_ms = it->cli->poll_max_ms[it->job];
    uv_timer_start(&it->timer, on_poll_timer, delay, 0);
}

static void on_status(void *data, const json_t *result, const json_t *error)
{
    struct cli_item *it = data;
    const struct cli_jobkind *k = &cli_jobkinds[it->job];
    const json_t *obj;
    char msg[2048];
    int rc;

    it->call = 0;
    rc = read_reply(cli_tools_find(&it->cli->tools, k->status_tool), result, error, &obj, msg,
                    sizeof(msg));
    if (rc != 0) {
        finish(it, rc, NULL, msg);
        return;
    }
    json_decref(it->job_obj);
    it->job_obj = json_deep_copy(obj);
    consider(it, it->job_obj);
}

/* What a job's status (borrowed) means: it failed, it is done (save it, or
 * end), or it goes on (poll again later). */
static void consider(struct cli_item *it, const json_t *obj)
{
    const struct cli_jobkind *k = &cli_jobkinds[it->job];
    const json_t *why;
    char msg[2048];

    show_wait(it);
    if (status_is(obj, failed_states)) {
        why = json_object_get(json_object_get(obj, "error"), "message");
        snprintf(msg, sizeof(msg), "the %s job %s ended %s%s%s", k->noun, it->id,
                 json_string_value(json_object_get(obj, "status")), json_is_string(why) ? ": " : "",
                 json_is_string(why) ? json_string_value(why) : "");
        finish(it, CLI_EXIT_JOB_FAILED, NULL, msg);
    } else if (!status_is(obj, done_states)) {
        next_poll(it);
    } else if (it->cli->inv.cmd->role == CLI_ROLE_DOWNLOAD || it->cli->inv.download) {
        call_saver(it);
    } else {
        finish(it, CLI_EXIT_OK, obj, NULL);
    }
}

static void poll_status(struct cli_item *it)
{
    const struct cli_jobkind *k = &cli_jobkinds[it->job];

    if (it->cli->closing)
        return;
    call_tool(it, k->status_tool, json_pack("{s:s}", k->id_param, it->id), on_status);
}

/* ---- saving ------------------------------------------------------------------- */

static void on_saved(void *data, const json_t *result, const json_t *error)
{
    struct cli_item *it = data;
    const struct cli_jobkind *k = &cli_jobkinds[it->job];
    const json_t *obj;
    json_t *saved, *shown;
    char msg[2048];
    int rc;

    it->call = 0;
    rc = read_reply(cli_tools_find(&it->cli->tools, k->download_tool), result, error, &obj, msg,
                    sizeof(msg));
    if (rc != 0) {
        finish(it, rc, NULL, msg);
        return;
    }
    saved = with_path(it, obj, k->media);
    if (it->cli->inv.cmd->role == CLI_ROLE_DOWNLOAD) {
        finish(it, CLI_EXIT_OK, saved, NULL);
    } else {
        shown = json_deep_copy(it->job_obj);
        json_object_set(shown, "download", saved);
        finish(it, CLI_EXIT_OK, shown, NULL);
        json_decref(shown);
    }
    json_decref(saved);
}

/* The download tool's arguments: the id, and the download flags that tool
 * takes (wait mixes video and image jobs, whose tools differ). */
static json_t *saver_args(struct cli_item *it, const struct cli_tool *tool)
{
    const char *key;
    json_t *v, *args;

    if (it->cli->inv.cmd->role == CLI_ROLE_DOWNLOAD)
        return json_deep_copy(it->args);
    args = json_object();
    json_object_foreach(it->cli->inv.dl_args, key, v)
    {
        if (cli_tool_param(tool, key) != NULL)
            json_object_set(args, key, v);
    }
    json_object_set_new(args, cli_jobkinds[it->job].id_param, json_string(it->id));
    return args;
}

static void call_saver(struct cli_item *it)
{
    const struct cli_jobkind *k = &cli_jobkinds[it->job];
    const struct cli_tool *tool = cli_tools_find(&it->cli->tools, k->download_tool);

    it->phase = CLI_PHASE_SAVE;
    call_tool(it, k->download_tool, saver_args(it, tool), on_saved);
}

/* ---- progress of a call ------------------------------------------------------- */

void cli_on_progress(void *data, long long token, double progress, double total)
{
    struct cli *cli = data;
    struct cli_item *it = NULL;
    struct cli_progress p = {.command = cli->inv.cmd->name, .percent = -1, .eta_s = -1};
    double secs;

    for (size_t i = 0; i < cli->nitems && it == NULL; i++)
        if (cli->items[i].call == token)
            it = &cli->items[i];
    if (it == NULL)
        return;
    secs = (double)(uv_hrtime() - it->call_started_ns) / 1e9;
    p.label = it->id[0] ? it->id : it->input ? it->input : cli->inv.cmd->name;
    p.elapsed_s = secs;
    if (total > 0)
        p.percent = 100.0 * progress / total;
    if (it->phase == CLI_PHASE_SAVE || cli->inv.cmd->role == CLI_ROLE_DOWNLOAD) {
        p.phase = "download";
        p.bytes = progress;
        p.total = total;
        p.rate = secs > 0 ? progress / secs : 0;
        if (total > progress && p.rate > 0)
            p.eta_s = (total - progress) / p.rate;
    } else {
        p.phase = "run";
    }
    cli_show_progress(&cli->out, &p);
}

/* ---- start and stop ----------------------------------------------------------- */

static void start_item(struct cli_item *it)
{
    struct cli *cli = it->cli;
    const struct cli_command *cmd = cli->inv.cmd;
    const char *id = it->input;

    if (cli->closing)
        return;
    if (id == NULL && cmd->positional != NULL)
        id = json_string_value(json_object_get(it->args, cmd->positional));
    if (cmd->special == CLI_SPECIAL_WAIT)
        it->job = strncmp(id, "resp_", 5) == 0 ? CLI_JOB_IMAGE : CLI_JOB_VIDEO;
    else
        it->job = cmd->job;
    /* Following a job we were given: the first poll is now. */
    if (cli->inv.wait && id != NULL &&
        (cmd->special == CLI_SPECIAL_WAIT || cmd->role == CLI_ROLE_STATUS ||
         cmd->role == CLI_ROLE_DOWNLOAD)) {
        snprintf(it->id, sizeof(it->id), "%s", id);
        it->phase = CLI_PHASE_WAIT;
        it->started_ms = uv_now(cli->opts.loop);
        it->deadline_ms = it->started_ms + cli->inv.timeout_ms;
        it->interval_ms = cli->poll_first_ms[it->job];
        poll_status(it);
        return;
    }
    call_tool(it, cmd->tool, json_deep_copy(it->args), on_main_reply);
}

/* Every item has ended, or the run was interrupted: close the session (which
 * cancels what is in flight), the timers and the signal handlers; the loop is
 * stopped once the last of them has closed. */
static void on_closed(uv_handle_t *h)
{
    struct cli *cli = h->data;
    if (--cli->handles == 0 && !cli->rpc_open)
        uv_stop(cli->opts.loop);
}

static void on_rpc_closed(void *data)
{
    struct cli *cli = data;
    cli->rpc_open = false;
    if (cli->handles == 0)
        uv_stop(cli->opts.loop);
}

static void close_all(struct cli *cli)
{
    if (cli->closing)
        return;
    cli->closing = true;
    cli_clear_progress(&cli->out);
    for (size_t i = 0; i < cli->nitems; i++) {
        cli->items[i].timer.data = cli; /* stopped: on_closed is all that runs now */
        uv_close((uv_handle_t *)&cli->items[i].timer, on_closed);
    }
    uv_close((uv_handle_t *)&cli->sigint, on_closed);
    uv_close((uv_handle_t *)&cli->sigterm, on_closed);
    cli_rpc_close(cli->rpc, on_rpc_closed, cli);
    cli->rpc = NULL;
}

static void all_done(struct cli *cli)
{
    close_all(cli);
}

/* Ctrl-C: what runs locally is cancelled (a download's temporary file goes
 * with it), every item not yet ended says it was interrupted, and how to
 * resume a job that keeps running upstream. */
static void on_signal(uv_signal_t *h, int signum)
{
    struct cli *cli = h->data;
    char msg[256];

    (void)signum;
    if (cli->interrupted || cli->closing)
        return;
    cli->interrupted = true;
    for (size_t i = 0; i < cli->nitems; i++) {
        struct cli_item *it = &cli->items[i];
        if (it->phase == CLI_PHASE_DONE)
            continue;
        if (it->id[0] == '\0')
            snprintf(msg, sizeof(msg), "interrupted%s",
                     it->job != CLI_JOB_NONE ? "; the job it was starting may exist upstream" : "");
        else if (it->phase == CLI_PHASE_SAVE)
            snprintf(msg, sizeof(msg), "interrupted while saving %s; nothing was saved", it->id);
        else
            snprintf(msg, sizeof(msg), "interrupted; %s keeps running upstream", it->id);
        finish(it, CLI_EXIT_INTERRUPTED, NULL, msg);
    }
    close_all(cli);
}

/* The exit status of the run: the items' own when all agree, else 6. */
static int run_status(const struct cli *cli)
{
    int first = -1;
    size_t failed = 0;

    if (cli->interrupted)
        return CLI_EXIT_INTERRUPTED;
    for (size_t i = 0; i < cli->nitems; i++) {
        int st = cli->items[i].status;
        if (st == CLI_EXIT_OK)
            continue;
        failed++;
        if (first < 0)
            first = st;
        else if (first != st)
            return CLI_EXIT_PARTIAL;
    }
    if (failed == 0)
        return CLI_EXIT_OK;
    return failed == cli->nitems ? first : CLI_EXIT_PARTIAL;
}

int cli_run(struct cli *cli)
{
    uv_loop_t *loop = cli->opts.loop;

    cli->running = cli->nitems;
    uv_signal_init(loop, &cli->sigint);
    uv_signal_init(loop, &cli->sigterm);
    cli->sigint.data = cli->sigterm.data = cli;
    uv_signal_start(&cli->sigint, on_signal, SIGINT);
    uv_signal_start(&cli->sigterm, on_signal, SIGTERM);
    cli->handles = 2;
    for (size_t i = 0; i < cli->nitems; i++) {
        uv_timer_init(loop, &cli->items[i].timer);
        cli->items[i].timer.data = &cli->items[i];
        cli->handles++;
    }
    for (size_t i = 0; i < cli->nitems; i++)
        start_item(&cli->items[i]);
    uv_run(loop, UV_RUN_DEFAULT);
    return run_status(cli);
}
