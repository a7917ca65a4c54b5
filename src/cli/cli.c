/* The CLI's set-up (cli.h): read the tool schemas through the in-process
 * session, find the command, parse its flags, answer help and capabilities
 * at once, and otherwise prepare one item per input for run.c. */
#include "fmacros.h"

#include "cli/cli_int.h"
#include "core/err.h"
#include "core/parse.h"
#include "mcp/server.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS (30ull * 60 * 1000)

/* ---- the schemas -------------------------------------------------------------- */

struct loading {
    struct cli *cli;
    int status;
    bool done;
};

static void loaded(struct loading *ld, int status)
{
    ld->status = status;
    ld->done = true;
    uv_stop(ld->cli->opts.loop);
}

static void on_tools(void *data, const json_t *result, const json_t *error)
{
    struct loading *ld = data;
    struct cli *cli = ld->cli;
    const json_t *tools = json_object_get(result, "tools");
    const char *cursor = json_string_value(json_object_get(result, "nextCursor"));
    struct cli_tool *grown;
    size_t i;
    json_t *t;

    if (error != NULL || !json_is_array(tools)) {
        loaded(ld, CLI_EXIT_ERROR);
        return;
    }
    grown = realloc(cli->tools.v, (cli->tools.n + json_array_size(tools) + 1) * sizeof(*grown));
    if (grown == NULL) {
        loaded(ld, CLI_EXIT_ERROR);
        return;
    }
    cli->tools.v = grown;
    json_array_foreach(tools, i, t)
    {
        if (cli_tool_init(&cli->tools.v[cli->tools.n], t) != 0) {
            cli_tool_clear(&cli->tools.v[cli->tools.n]);
            loaded(ld, CLI_EXIT_ERROR);
            return;
        }
        cli->tools.n++;
    }
    if (cursor == NULL)
        loaded(ld, 0);
    else if (cli_rpc_call(cli->rpc, "tools/list", json_pack("{s:s}", "cursor", cursor), on_tools,
                          ld) == 0)
        loaded(ld, CLI_EXIT_ERROR);
}

static void on_initialized(void *data, const json_t *result, const json_t *error)
{
    struct loading *ld = data;

    if (error != NULL || result == NULL) {
        loaded(ld, CLI_EXIT_ERROR);
        return;
    }
    cli_rpc_notify(ld->cli->rpc, "notifications/initialized", NULL);
    if (cli_rpc_call(ld->cli->rpc, "tools/list", json_object(), on_tools, ld) == 0)
        loaded(ld, CLI_EXIT_ERROR);
}

/* A legacy session, as a client that declares no capability: the tools then
 * refuse an existing file rather than ask, and ask nothing else. */
int cli_load_tools(struct cli *cli)
{
    struct loading ld = {.cli = cli};
    json_t *params =
        json_pack("{s:s, s:{}, s:{s:s, s:s}}", "protocolVersion", "2025-11-25", "capabilities",
                  "clientInfo", "name", "sanzaru-cli", "version", SZ_VERSION);

    if (cli_rpc_call(cli->rpc, "initialize", params, on_initialized, &ld) == 0)
        return CLI_EXIT_ERROR;
    while (!ld.done)
        uv_run(cli->opts.loop, UV_RUN_DEFAULT);
    return ld.status;
}

/* ---- errors before a run ------------------------------------------------------ */

/* The envelope's command for argv when no command matched: its words. */
static void command_name(int argc, char **argv, char *out, size_t outlen)
{
    int words = 0;
    const struct cli_command *cmd = cli_command_find(argc, argv, &words);

    if (cmd != NULL)
        snprintf(out, outlen, "%s", cmd->name);
    else if (argc >= 2 && argv[1][0] != '-' && cli_group_known(argv[0]))
        snprintf(out, outlen, "%s.%s", argv[0], argv[1]);
    else
        snprintf(out, outlen, "%s", argc >= 1 ? argv[0] : "sanzaru");
}

static bool wants_json(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--json") == 0)
            return true;
    }
    return false;
}

int cli_report(const struct cli_options *o, int argc, char **argv, int status, const char *msg)
{
    struct cli_out out = {
        .out = o->out, .err = o->err, .human = o->out_tty && !wants_json(argc, argv)};
    char name[128];

    command_name(argc, argv, name, sizeof(name));
    cli_emit(&out, name, NULL, status, msg, NULL);
    return status;
}

/* ---- set-up ------------------------------------------------------------------- */

/* SANZARU_CLI_POLL_MS: "FIRST[,MAX]" for every kind of job. */
static int poll_setting(struct cli *cli, char *err, size_t errlen)
{
    const char *v = cli->opts.poll_ms;
    char first[32];
    long long a, b;
    const char *comma;

    for (int k = 0; k < CLI_JOB_COUNT; k++) {
        cli->poll_first_ms[k] = cli_jobkinds[k].first_ms;
        cli->poll_max_ms[k] = cli_jobkinds[k].max_ms;
    }
    if (v == NULL || v[0] == '\0')
        return 0;
    comma = strchr(v, ',');
    snprintf(first, sizeof(first), "%.*s", comma ? (int)(comma - v) : (int)strlen(v), v);
    if (sz_parse_ll(first, 1, 3600000, &a) != 0 ||
        (comma != NULL && sz_parse_ll(comma + 1, a, 3600000, &b) != 0)) {
        snprintf(err, errlen,
                 "SANZARU_CLI_POLL_MS must be FIRST[,MAX] in milliseconds (1 to 3600000, MAX at "
                 "least FIRST), got '%s'",
                 v);
        return CLI_EXIT_CONFIG;
    }
    for (int k = 0; k < CLI_JOB_COUNT; k++) {
        cli->poll_first_ms[k] = (uint64_t)a;
        cli->poll_max_ms[k] = (uint64_t)(comma != NULL ? b : a);
    }
    return 0;
}

/* One item per input word (or one with none); each has its own arguments. */
static int make_items(struct cli *cli)
{
    const struct cli_invocation *inv = &cli->inv;
    size_t n = inv->ninputs > 0 ? inv->ninputs : 1;

    cli->items = calloc(n, sizeof(*cli->items));
    if (cli->items == NULL)
        return SZ_ENOMEM;
    cli->nitems = n;
    for (size_t i = 0; i < n; i++) {
        struct cli_item *it = &cli->items[i];
        it->cli = cli;
        it->index = i;
        it->input = inv->ninputs > 0 ? inv->inputs[i] : NULL;
        it->args = json_deep_copy(inv->args);
        if (it->args == NULL)
            return SZ_ENOMEM;
        if (it->input != NULL && inv->cmd->positional != NULL)
            json_object_set_new(it->args, inv->cmd->positional, json_string(it->input));
    }
    return 0;
}

static bool group_offered(const struct cli *cli, const char *group)
{
    for (size_t i = 0; i < cli_ncommands; i++)
        if (strcmp(cli_commands[i].group, group) == 0 &&
            (cli_commands[i].special != CLI_SPECIAL_NONE ||
             cli_tools_find(&cli->tools, cli_commands[i].tool) != NULL))
            return true;
    return false;
}

/* help, or a group's name alone: prints help; 0, or 2 for a bare group. */
static int group_help(struct cli *cli, int argc, char **argv)
{
    char msg[512];
    size_t used;

    if (strcmp(argv[0], "help") == 0) {
        int words = 0;
        const struct cli_command *cmd = cli_command_find(argc - 1, argv + 1, &words);
        if (cmd != NULL)
            cli_help_command(cli->opts.out, &cli->tools, cmd);
        else if (argc >= 2 && cli_group_known(argv[1]))
            cli_help_group(cli->opts.out, &cli->tools, argv[1]);
        else
            cli_help_all(cli->opts.out, &cli->tools, cli->opts.server_usage);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_help_group(cli->opts.out, &cli->tools, argv[0]);
        return 0;
    }
    if (!group_offered(cli, argv[0]))
        return cli_report(&cli->opts, argc, argv, CLI_EXIT_USAGE,
                          "this sanzaru has no such commands: their tools are not registered");
    if (argc >= 2)
        used = (size_t)snprintf(msg, sizeof(msg), "unknown command '%s %s': the %s commands are ",
                                argv[0], argv[1], argv[0]);
    else
        used =
            (size_t)snprintf(msg, sizeof(msg), "a command is missing after '%s': one of ", argv[0]);
    for (size_t i = 0, n = 0; i < cli_ncommands && used < sizeof(msg); i++)
        if (strcmp(cli_commands[i].group, argv[0]) == 0 &&
            cli_tools_find(&cli->tools, cli_commands[i].tool) != NULL)
            used += (size_t)snprintf(msg + used, sizeof(msg) - used, "%s%s", n++ ? ", " : "",
                                     cli_commands[i].verb);
    if (used < sizeof(msg))
        snprintf(msg + used, sizeof(msg) - used, " (see sanzaru %s --help)", argv[0]);
    return cli_report(&cli->opts, argc, argv, CLI_EXIT_USAGE, msg);
}

/* Finds and parses the command; 0 with cli->inv ready, or an exit status after
 * printing (help, capabilities, a usage error). */
static int prepare(struct cli *cli, int argc, char **argv)
{
    const struct cli_command *cmd;
    char err[1024];
    int words = 0, rc;

    cmd = strcmp(argv[0], "help") == 0 ? NULL : cli_command_find(argc, argv, &words);
    if (cmd != NULL && cmd->special == CLI_SPECIAL_NONE &&
        cli_tools_find(&cli->tools, cmd->tool) == NULL)
        cmd = NULL; /* a tool this build does not have */
    if (cmd == NULL)
        return group_help(cli, argc, argv);
    rc = cli_parse(&cli->tools, cmd, argc - words, argv + words, &cli->inv, err, sizeof(err));
    cli->have_inv = true;
    cli->out.human = cli->opts.out_tty && !cli->inv.json;
    cli->out.progress = !cli->inv.quiet;
    cli->out.bar = cli->out.progress && cli->opts.err_tty;
    if (rc != 0) {
        cli_emit(&cli->out, cmd->name, NULL, rc, err, NULL);
        return rc;
    }
    if (cli->inv.help) {
        cli_help_command(cli->opts.out, &cli->tools, cmd);
        return CLI_EXIT_OK;
    }
    if (cmd->special == CLI_SPECIAL_CAPABILITIES) {
        json_t *caps = cli_capabilities(&cli->tools);
        cli_emit(&cli->out, cmd->name, caps, CLI_EXIT_OK, NULL, NULL);
        json_decref(caps);
        return CLI_EXIT_OK;
    }
    if (!cli->inv.timeout_set)
        cli->inv.timeout_ms = DEFAULT_TIMEOUT_MS;
    return make_items(cli) == 0 ? 0 : CLI_EXIT_ERROR;
}

int cli_new(const struct cli_options *o, int argc, char **argv, struct cli **pcli)
{
    struct cli *cli = calloc(1, sizeof(*cli));
    char err[512];
    int rc;

    *pcli = NULL;
    if (cli == NULL || argc < 1)
        return CLI_EXIT_ERROR;
    cli->opts = *o;
    cli->out = (struct cli_out){.out = o->out, .err = o->err, .human = o->out_tty};
    /* Arguments are taken as every client gets them, but a refusal is a
     * JSON-RPC error rather than a tool result, so the CLI can tell a usage
     * error (exit 2) from a tool that failed (exit 1). The process serves no
     * one else. */
    if (mcp_server_set_arg_policy(o->server, MCP_ARGS_DEFAULT & ~MCP_ARGS_ERRORS_AS_RESULTS) != 0) {
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    rc = poll_setting(cli, err, sizeof(err));
    if (rc != 0) {
        cli_report(o, argc, argv, rc, err);
        goto out;
    }
    rc = cli_rpc_new(o->loop, o->server, cli_on_progress, cli, &cli->rpc);
    if (rc != 0) {
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    cli->rpc_open = true;
    rc = cli_load_tools(cli);
    if (rc != 0) {
        cli_report(o, argc, argv, rc, "could not read the tools' schemas from the engine");
        goto out;
    }
    rc = prepare(cli, argc, argv);
    if (rc == 0 && cli->nitems > 0) {
        *pcli = cli;
        return 0;
    }
out:
    cli_free(cli);
    return rc;
}

const char *cli_output_dir(const struct cli *cli, enum cli_media *pkind)
{
    const struct cli_invocation *inv = &cli->inv;

    if (inv->out_dir == NULL)
        return NULL;
    if (inv->cmd->special == CLI_SPECIAL_WAIT)
        *pkind = strncmp(inv->inputs[0], "resp_", 5) == 0 ? CLI_MEDIA_IMAGES : CLI_MEDIA_VIDEOS;
    else if (inv->cmd->job != CLI_JOB_NONE)
        *pkind = cli_jobkinds[inv->cmd->job].media;
    else
        *pkind = inv->cmd->out_media;
    return inv->out_dir;
}

void cli_set_media(struct cli *cli, enum cli_media kind, const char *path, const char *error)
{
    char cwd[4096];
    size_t n = sizeof(cwd);

    (void)error; /* the tools say it themselves, as a configuration error (cli.h) */
    free(cli->media_path[kind]);
    cli->media_path[kind] = NULL;
    if (path == NULL)
        return;
    if (path[0] == '/' || uv_cwd(cwd, &n) != 0) {
        cli->media_path[kind] = strdup(path);
    } else if (strcmp(path, ".") == 0) {
        cli->media_path[kind] = strdup(cwd);
    } else {
        size_t len;
        if (strncmp(path, "./", 2) == 0)
            path += 2;
        len = strlen(cwd) + strlen(path) + 2;
        cli->media_path[kind] = malloc(len);
        if (cli->media_path[kind] != NULL)
            snprintf(cli->media_path[kind], len, "%s/%s", cwd, path);
    }
}

void cli_free(struct cli *cli)
{
    if (cli == NULL)
        return;
    if (cli->rpc != NULL)
        cli_rpc_close(cli->rpc, NULL, NULL);
    for (size_t i = 0; i < cli->nitems; i++) {
        json_decref(cli->items[i].args);
        json_decref(cli->items[i].job_obj);
    }
    free(cli->items);
    for (size_t i = 0; i < cli->tools.n; i++)
        cli_tool_clear(&cli->tools.v[i]);
    free(cli->tools.v);
    if (cli->have_inv)
        cli_invocation_clear(&cli->inv);
    for (int k = 0; k < CLI_MEDIA_COUNT; k++)
        free(cli->media_path[k]);
    free(cli);
}
