/* Help and `sanzaru capabilities`, written from the tools' own schemas: every
 * flag, its value, its default and its description come from the tool's
 * table as tools/list shows it, so the help cannot drift from what the tools
 * take. What is the CLI's own (waiting, -o, output, exit statuses) is
 * written here once. */
#include "fmacros.h"

#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>

#define WIDTH 80

static const char *const exit_text[][2] = {
    {"0", "ok"},
    {"1", "runtime or API error"},
    {"2", "usage: a bad command line or arguments a tool refused"},
    {"3", "configuration: an API key, a media directory or an environment variable"},
    {"4", "timeout: the wait ended first; the job keeps running (the envelope's resume)"},
    {"5", "the job failed upstream"},
    {"6", "some inputs of a batch failed"},
    {"130", "interrupted (Ctrl-C): local work cancelled, no partial file left"},
};

/* Writes text wrapped at WIDTH, every line indented by indent. */
static void wrap(FILE *out, const char *text, int indent)
{
    int col = 0;

    while (*text != '\0') {
        int n = (int)strcspn(text, " \n");
        if (col > 0 && col + 1 + n > WIDTH) {
            fputc('\n', out);
            col = 0;
        }
        if (col == 0)
            col = fprintf(out, "%*s", indent, "");
        else
            col += fprintf(out, " ");
        col += fprintf(out, "%.*s", n, text);
        text += n;
        if (*text == '\n') {
            fputc('\n', out);
            col = 0;
        }
        text += strspn(text, " \n");
    }
    if (col > 0)
        fputc('\n', out);
}

/* What a flag's value looks like: an enum's values, or a word for its type. */
static void metavar(const struct cli_param *p, char *out, size_t outlen)
{
    const json_t *values = json_object_get(p->value, "enum");
    size_t used = 0, i;
    json_t *v;

    out[0] = '\0';
    if (json_array_size(values) > 0 && json_array_size(values) <= 8) {
        json_array_foreach(values, i, v)
        {
            if (used + 2 < outlen)
                used += (size_t)snprintf(out + used, outlen - used, "%s%s", i ? "|" : "",
                                         json_string_value(v) ? json_string_value(v) : "?");
        }
        return;
    }
    switch (p->type) {
    case CLI_P_BOOLEAN:
        return;
    case CLI_P_INTEGER:
        snprintf(out, outlen, "N");
        return;
    case CLI_P_NUMBER:
        snprintf(out, outlen, "X");
        return;
    case CLI_P_OBJECT:
        snprintf(out, outlen, "JSON");
        return;
    default:
        break;
    }
    if (strstr(p->name, "_id") != NULL)
        snprintf(out, outlen, "ID");
    else if (strstr(p->name, "file") != NULL || strstr(p->name, "path") != NULL ||
             strstr(p->name, "images") != NULL)
        snprintf(out, outlen, "NAME");
    else
        snprintf(out, outlen, "TEXT");
}

static void help_param(FILE *out, const struct cli_param *p)
{
    const json_t *def = json_object_get(p->prop, "default");
    const char *desc = json_string_value(json_object_get(p->prop, "description"));
    char mv[256];
    char *shown = NULL;

    metavar(p, mv, sizeof(mv));
    fprintf(out, "  --%s%s%s", p->flag, mv[0] ? " " : "", mv);
    if (p->required)
        fputs("  (required)", out);
    else if (p->type == CLI_P_BOOLEAN)
        fprintf(out, "  (--no-%s for false)", p->flag);
    if (p->type == CLI_P_ARRAY)
        fputs("  (repeat for each, or one JSON array)", out);
    fputc('\n', out);
    if (desc != NULL)
        wrap(out, desc, 8);
    if (def != NULL && !json_is_null(def))
        shown = json_dumps(def, JSON_ENCODE_ANY | JSON_COMPACT);
    if (shown != NULL)
        fprintf(out, "        Default: %s.\n", shown);
    free(shown);
}

static void help_tool_flags(FILE *out, const struct cli_tool *t, const char *skip,
                            const char *heading)
{
    fprintf(out, "\n%s\n", heading);
    for (size_t i = 0; i < t->nparams; i++)
        if (skip == NULL || strcmp(t->params[i].name, skip) != 0)
            help_param(out, &t->params[i]);
}

static void help_output(FILE *out, const char *param, const char *root, const char *saver,
                        bool implies)
{
    char flag[64], line[512];

    cli_kebab(param, flag, sizeof(flag));
    snprintf(line, sizeof(line),
             "Save as FILE: %s's --%s gets its name, and its directory stands in for the %s "
             "directory for this run (input files of that kind are read there too).%s",
             saver, flag, root, implies ? " Implies --download." : "");
    fputs("  -o, --output FILE\n", out);
    wrap(out, line, 8);
}

static void command_output(FILE *out, const struct cli_command *cmd, const char *saver)
{
    static const char *const roots[] = {"video", "image", "audio"};

    if (cmd->special == CLI_SPECIAL_WAIT)
        help_output(out, "filename", "video or image (as the job is)",
                    "download_video or download_image", true);
    else if (cmd->out_param != NULL)
        help_output(out, cmd->out_param, roots[cmd->out_media], saver,
                    cmd->role == CLI_ROLE_START || cmd->role == CLI_ROLE_STATUS);
}

static void help_waiting(FILE *out, const struct cli_command *cmd, const char *saver)
{
    const struct cli_jobkind *k =
        &cli_jobkinds[cmd->job == CLI_JOB_NONE ? CLI_JOB_VIDEO : cmd->job];
    char line[512];

    fputs("\nWaiting and saving:\n", out);
    if (cmd->special == CLI_SPECIAL_WAIT)
        snprintf(line, sizeof(line),
                 "Poll each job's status (get_video_status every 5 s growing to 20 s; "
                 "get_image_status every 2 s growing to 10 s) until it is completed or failed.");
    else
        snprintf(line, sizeof(line),
                 "%s %s every %llu s, growing to %llu s, until the %s is completed or failed.",
                 cmd->role == CLI_ROLE_DOWNLOAD ? "Before downloading, poll" : "Poll",
                 k->status_tool, (unsigned long long)(k->first_ms / 1000),
                 (unsigned long long)(k->max_ms / 1000), k->noun);
    fputs("  --wait\n", out);
    wrap(out, line, 8);
    if (cmd->role != CLI_ROLE_DOWNLOAD) {
        fputs("  --download\n", out);
        wrap(out,
             cmd->special == CLI_SPECIAL_WAIT
                 ? "Then save each with download_video or download_image. Every flag of theirs "
                   "implies it."
                 : "Then save it (the download flags above imply it). Implies --wait.",
             8);
    }
    command_output(out, cmd, saver);
    fputs("  --timeout SECONDS\n", out);
    wrap(out,
         "Stop waiting after this long (default 1800, 30 minutes): exit 4 with a resume command; "
         "the job keeps running.",
         8);
}

static void help_common(FILE *out)
{
    fputs("\nOutput:\n"
          "  --json       one JSON envelope per result on stdout, even on a terminal\n"
          "  -q, --quiet  no progress on stderr\n"
          "  -h, --help   this help\n"
          "\nExit statuses:\n",
          out);
    for (size_t i = 0; i < sizeof(exit_text) / sizeof(exit_text[0]); i++)
        fprintf(out, "  %-4s %s\n", exit_text[i][0], exit_text[i][1]);
}

static void positional_name(const struct cli_command *cmd, char *out, size_t outlen);

void cli_help_command(FILE *out, const struct cli_tools *tools, const struct cli_command *cmd)
{
    const struct cli_tool *t = cli_tools_find(tools, cmd->tool);
    const char *dlname = cli_download_tool(cmd);
    const struct cli_tool *dl = cli_tools_find(tools, dlname);
    const char *saver = dl != NULL ? dlname : cmd->tool;
    char words[64], upper[64] = "", heading[128];

    cli_command_words(cmd, words, sizeof(words));
    positional_name(cmd, upper, sizeof(upper));
    fprintf(out, "usage: sanzaru %s%s%s%s [flags]\n\n", words, upper[0] ? " " : "", upper,
            upper[0] ? "..." : "");
    if (t != NULL) {
        fprintf(out, "%s: the %s tool, called in process.\n\n", cli_tool_title(t), t->name);
        wrap(out, json_string_value(json_object_get(t->listing, "description")), 0);
    } else {
        wrap(out, cmd->summary, 0);
    }
    if (cmd->special == CLI_SPECIAL_WAIT)
        wrap(out,
             "\nEach ID is a job: resp_... ids are image jobs (create_image), any other a video "
             "(create_video, remix_video). One JSON line per job, as each ends.",
             0);
    if (cmd->positional != NULL) {
        char flag[64], line[256];
        cli_kebab(cmd->positional, flag, sizeof(flag));
        snprintf(
            line, sizeof(line),
            "\n%s: each argument after the command is the --%s of one call; several make a batch "
            "(one JSON line each).",
            upper, flag);
        wrap(out, line, 0);
    }
    if (t != NULL && t->nparams > 0) {
        snprintf(heading, sizeof(heading), "Flags (the arguments of %s):", t->name);
        help_tool_flags(out, t, NULL, heading);
    }
    for (int k = CLI_JOB_VIDEO; cmd->special == CLI_SPECIAL_WAIT && k < CLI_JOB_COUNT; k++) {
        const struct cli_tool *d = cli_tools_find(tools, cli_jobkinds[k].download_tool);
        snprintf(heading, sizeof(heading), "Flags of %s (for %s jobs; each implies --download):",
                 cli_jobkinds[k].download_tool, cli_jobkinds[k].noun);
        if (d != NULL)
            help_tool_flags(out, d, cli_jobkinds[k].id_param, heading);
    }
    if (dl != NULL) {
        snprintf(heading, sizeof(heading), "Flags of %s (each implies --download):", dlname);
        help_tool_flags(out, dl, cli_jobkinds[cmd->job].id_param, heading);
    }
    if (cmd->job != CLI_JOB_NONE || cmd->special == CLI_SPECIAL_WAIT) {
        help_waiting(out, cmd, saver);
    } else if (cmd->out_param != NULL) {
        fputs("\nSaving:\n", out);
        command_output(out, cmd, saver);
    }
    help_common(out);
}

static const char *command_summary(const struct cli_tools *tools, const struct cli_command *c)
{
    const struct cli_tool *t = cli_tools_find(tools, c->tool);
    return t != NULL ? cli_tool_title(t) : c->summary;
}

/* A command is offered when it is special or its tool is registered. */
static bool offered(const struct cli_tools *tools, const struct cli_command *c)
{
    return c->special != CLI_SPECIAL_NONE || cli_tools_find(tools, c->tool) != NULL;
}

/* "PROMPT", "VIDEO_ID": how a command's positional argument is shown. */
static void positional_name(const struct cli_command *cmd, char *out, size_t outlen)
{
    const char *p = cmd->special == CLI_SPECIAL_WAIT ? "id" : cmd->positional;
    size_t i = 0;

    for (; p != NULL && p[i] != '\0' && i + 1 < outlen; i++)
        out[i] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 'a' + 'A' : p[i]);
    out[i] = '\0';
}

static void list_commands(FILE *out, const struct cli_tools *tools, const char *group)
{
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_command *c = &cli_commands[i];
        char words[64], pos[64], usage[160];
        if ((group != NULL && strcmp(c->group, group) != 0) || !offered(tools, c))
            continue;
        cli_command_words(c, words, sizeof(words));
        positional_name(c, pos, sizeof(pos));
        snprintf(usage, sizeof(usage), "%s%s%s%s", words, pos[0] ? " " : "", pos,
                 pos[0] ? "..." : "");
        fprintf(out, "  %-36s %s%s%s%s\n", usage, command_summary(tools, c), c->tool ? " (" : "",
                c->tool ? c->tool : "", c->tool ? ")" : "");
    }
}

void cli_help_group(FILE *out, const struct cli_tools *tools, const char *group)
{
    fprintf(out, "usage: sanzaru %s COMMAND [ARGS] [flags]\n\nCommands:\n", group);
    list_commands(out, tools, group);
    fprintf(out, "\nsanzaru %s COMMAND --help lists a command's flags.\n", group);
}

void cli_help_all(FILE *out, const struct cli_tools *tools, const char *server_usage)
{
    if (server_usage != NULL)
        fprintf(out, "%s\n", server_usage);
    fputs("usage: sanzaru COMMAND [ARGS] [flags]\n\n"
          "The agent command line: each command is one call of the server's tools, in\n"
          "process, with a flag per tool argument; the result is one JSON envelope per\n"
          "line on stdout ({\"v\":1,\"ok\":true,\"command\":\"video.create\",\"result\":{...}}),\n"
          "or readable lines on a terminal. Progress goes to stderr.\n\n"
          "Commands:\n",
          out);
    list_commands(out, tools, NULL);
    fputs("\nFlags of every command: --json, -q/--quiet, -h/--help. Commands that start a job\n"
          "also take --wait, --download, -o FILE and --timeout SECONDS; -o implies\n"
          "--download, which implies --wait. sanzaru COMMAND --help lists every flag.\n",
          out);
    help_common(out);
}

/* ---- capabilities ------------------------------------------------------------- */

static json_t *flag_entry(const struct cli_param *p)
{
    json_t *e = json_object();
    const json_t *def = json_object_get(p->prop, "default");
    const json_t *values = json_object_get(p->value, "enum");
    char flag[80];

    snprintf(flag, sizeof(flag), "--%s", p->flag);
    json_object_set_new(e, "flag", json_string(flag));
    json_object_set_new(e, "argument", json_string(p->name));
    json_object_set_new(e, "type", json_string(cli_ptype_name(p->type)));
    json_object_set_new(e, "required", json_boolean(p->required));
    if (def != NULL && !json_is_null(def))
        json_object_set(e, "default", cli_mut(def));
    if (values != NULL)
        json_object_set(e, "enum", cli_mut(values));
    if (json_object_get(p->prop, "description") != NULL)
        json_object_set(e, "description", json_object_get(p->prop, "description"));
    return e;
}

static json_t *flag_list(const struct cli_tool *t, const char *skip)
{
    json_t *a = json_array();
    for (size_t i = 0; t != NULL && i < t->nparams; i++)
        if (skip == NULL || strcmp(t->params[i].name, skip) != 0)
            json_array_append_new(a, flag_entry(&t->params[i]));
    return a;
}

static json_t *command_entry(const struct cli_tools *tools, const struct cli_command *c)
{
    static const char *const media[] = {"videos", "images", "audio"};
    const struct cli_tool *t = cli_tools_find(tools, c->tool);
    const char *dl = cli_download_tool(c);
    json_t *e = json_object();
    char words[64];

    cli_command_words(c, words, sizeof(words));
    json_object_set_new(e, "command", json_string(c->name));
    json_object_set_new(e, "usage", json_sprintf("sanzaru %s", words));
    json_object_set_new(e, "tool", c->tool ? json_string(c->tool) : json_null());
    json_object_set_new(e, "title", json_string(command_summary(tools, c)));
    json_object_set_new(e, "positional", c->positional ? json_string(c->positional) : json_null());
    json_object_set_new(
        e, "job", c->job != CLI_JOB_NONE ? json_string(cli_jobkinds[c->job].noun) : json_null());
    json_object_set_new(e, "output",
                        c->out_param || c->special == CLI_SPECIAL_WAIT
                            ? json_string(media[c->out_media])
                            : json_null());
    json_object_set_new(e, "flags", flag_list(t, NULL));
    if (dl != NULL)
        json_object_set_new(e, "download_flags",
                            flag_list(cli_tools_find(tools, dl), cli_jobkinds[c->job].id_param));
    return e;
}

json_t *cli_capabilities(const struct cli_tools *tools)
{
    json_t *caps = json_object(), *cmds = json_array(), *codes = json_object();

    for (size_t i = 0; i < cli_ncommands; i++)
        if (offered(tools, &cli_commands[i]))
            json_array_append_new(cmds, command_entry(tools, &cli_commands[i]));
    for (size_t i = 0; i < sizeof(exit_text) / sizeof(exit_text[0]); i++)
        json_object_set_new(codes, exit_text[i][0], json_string(exit_text[i][1]));
    json_object_set_new(caps, "version", json_string(SZ_VERSION));
    json_object_set_new(caps, "envelope", json_integer(1));
    json_object_set_new(caps, "commands", cmds);
    json_object_set_new(caps, "global_flags", json_pack("[s,s,s]", "--json", "--quiet", "--help"));
    json_object_set_new(caps, "job_flags",
                        json_pack("[s,s,s,s]", "--wait", "--download", "--output", "--timeout"));
    json_object_set_new(caps, "exit_codes", codes);
    return caps;
}
