/* From the tools' input schemas to flags: each argument of a tool is a flag,
 * the kebab-case of its name (video_id: --video-id), whose value is converted
 * by the argument's JSON type (a number, a boolean, a repeated flag for an
 * array, JSON text for an object). Nothing is validated here beyond the shape
 * of the command line: the engine checks the arguments against the tool's own
 * table and its sentence is the error the user sees, so the CLI and the
 * server cannot disagree on what a tool takes.
 *
 * The schema is what tools/list shows: a property is either the value's schema
 * or anyOf [value, {"type": "null"}] for an optional argument. */
#include "fmacros.h"

#include "cli/cli_int.h"
#include "core/err.h"
#include "core/parse.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters --------------------------------------------------------------- */

void cli_kebab(const char *name, char *out, size_t outlen)
{
    size_t i;

    for (i = 0; name[i] != '\0' && i + 1 < outlen; i++)
        out[i] = name[i] == '_' ? '-' : name[i];
    out[i] = '\0';
}

void cli_command_words(const struct cli_command *cmd, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s%s", cmd->group, cmd->verb ? " " : "", cmd->verb ? cmd->verb : "");
}

/* The value's schema of a property: the non-null member of anyOf, or itself. */
static const json_t *value_schema(const json_t *prop)
{
    const json_t *any = json_object_get(prop, "anyOf");
    size_t i;
    json_t *alt;

    if (!json_is_array(any))
        return prop;
    json_array_foreach(any, i, alt)
    {
        const char *type = json_string_value(json_object_get(alt, "type"));
        if (type == NULL || strcmp(type, "null") != 0)
            return alt;
    }
    return prop;
}

static enum cli_ptype ptype_of(const json_t *value)
{
    const char *type = json_string_value(json_object_get(value, "type"));

    if (type == NULL)
        return CLI_P_STRING;
    if (strcmp(type, "integer") == 0)
        return CLI_P_INTEGER;
    if (strcmp(type, "number") == 0)
        return CLI_P_NUMBER;
    if (strcmp(type, "boolean") == 0)
        return CLI_P_BOOLEAN;
    if (strcmp(type, "array") == 0)
        return CLI_P_ARRAY;
    if (strcmp(type, "object") == 0)
        return CLI_P_OBJECT;
    return CLI_P_STRING;
}

const char *cli_ptype_name(enum cli_ptype type)
{
    static const char *const names[] = {"string",  "integer", "number",
                                        "boolean", "array",   "object"};
    return names[type];
}

static bool is_required(const json_t *schema, const char *name)
{
    const json_t *req = json_object_get(schema, "required");
    size_t i;
    json_t *v;

    json_array_foreach(req, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

int cli_tool_init(struct cli_tool *t, json_t *listing)
{
    const json_t *schema = json_object_get(listing, "inputSchema");
    const json_t *props = json_object_get(schema, "properties");
    const char *name;
    json_t *prop;
    size_t n = 0;

    memset(t, 0, sizeof(*t));
    t->listing = json_incref(listing);
    t->name = json_string_value(json_object_get(listing, "name"));
    if (json_object_size(props) == 0)
        return 0;
    t->params = calloc(json_object_size(props), sizeof(*t->params));
    if (t->params == NULL)
        return SZ_ENOMEM;
    json_object_foreach(cli_mut(props), name, prop)
    {
        struct cli_param *p = &t->params[n];

        p->name = name;
        p->prop = prop;
        p->value = value_schema(prop);
        p->type = ptype_of(p->value);
        p->required = is_required(schema, name);
        cli_kebab(name, p->flag, sizeof(p->flag));
        n++;
    }
    t->nparams = n;
    return 0;
}

void cli_tool_clear(struct cli_tool *t)
{
    free(t->params);
    json_decref(t->listing);
    memset(t, 0, sizeof(*t));
}

const struct cli_param *cli_tool_param(const struct cli_tool *t, const char *name)
{
    for (size_t i = 0; t != NULL && i < t->nparams; i++)
        if (strcmp(t->params[i].name, name) == 0)
            return &t->params[i];
    return NULL;
}

const struct cli_param *cli_tool_flag(const struct cli_tool *t, const char *flag)
{
    for (size_t i = 0; t != NULL && i < t->nparams; i++)
        if (strcmp(t->params[i].flag, flag) == 0)
            return &t->params[i];
    return NULL;
}

const char *cli_tool_title(const struct cli_tool *t)
{
    const char *title = json_string_value(json_object_get(t->listing, "title"));
    return title != NULL ? title : t->name;
}

const struct cli_tool *cli_tools_find(const struct cli_tools *tools, const char *name)
{
    for (size_t i = 0; name != NULL && i < tools->n; i++)
        if (strcmp(tools->v[i].name, name) == 0)
            return &tools->v[i];
    return NULL;
}

/* ---- values ------------------------------------------------------------------- */

/* The JSON value of a flag's text. What does not convert goes as the text, so
 * the engine's sentence says what was wrong with it ('limit' must be an
 * integer, not "five"); an object goes as its JSON text, which the engine
 * decodes (MCP_ARGS_JSON_TEXT) or refuses with its reason. */
static json_t *convert(enum cli_ptype type, const char *text)
{
    long long ll;
    double d;

    switch (type) {
    case CLI_P_INTEGER:
        if (sz_parse_ll(text, LLONG_MIN, LLONG_MAX, &ll) == 0)
            return json_integer(ll);
        break;
    case CLI_P_NUMBER:
        if (text[0] == '-' && sz_parse_decimal(text + 1, &d) == 0)
            return json_real(-d);
        if (sz_parse_decimal(text, &d) == 0)
            return json_real(d);
        break;
    case CLI_P_BOOLEAN:
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0 || strcmp(text, "yes") == 0)
            return json_true();
        if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0 || strcmp(text, "no") == 0)
            return json_false();
        break;
    default:
        break;
    }
    return json_string(text);
}

/* Sets name in args from one occurrence of its flag. Arrays collect repeated
 * flags (or take one JSON text); anything else may be given once. */
static int put(json_t *args, const char *name, enum cli_ptype type, const char *flag,
               const char *text, char *err, size_t errlen)
{
    json_t *have = json_object_get(args, name);

    if (type == CLI_P_ARRAY && text[0] != '[') {
        if (have == NULL) {
            have = json_array();
            json_object_set_new(args, name, have);
        }
        if (json_is_array(have)) {
            json_array_append_new(have, json_string(text));
            return 0;
        }
    }
    if (have != NULL) {
        snprintf(err, errlen, "--%s is given twice", flag);
        return CLI_EXIT_USAGE;
    }
    json_object_set_new(args, name, convert(type, text));
    return 0;
}

/* ---- the command line --------------------------------------------------------- */

struct parser {
    const struct cli_tools *tools;
    const struct cli_command *cmd;
    const struct cli_tool *dl[2]; /* the download tools whose flags are taken */
    const char *dl_id[2];         /* their id arguments */
    struct cli_invocation *inv;
    int argc;
    char **argv;
    int i;
    bool no_more_flags;
    char *err;
    size_t errlen;
};

static bool is_flag(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* The value of the flag at argv[i]: after '=', or the next word. */
static int flag_value(struct parser *ps, const char *shown, const char **pvalue)
{
    const char *eq = strchr(ps->argv[ps->i], '=');

    if (eq != NULL) {
        *pvalue = eq + 1;
        return 0;
    }
    if (ps->i + 1 >= ps->argc) {
        snprintf(ps->err, ps->errlen, "%s needs a value", shown);
        return CLI_EXIT_USAGE;
    }
    *pvalue = ps->argv[++ps->i];
    return 0;
}

/* The flags every command takes, and those of waiting. Returns 0 when argv[i]
 * was one (consumed), 1 when it was not, or CLI_EXIT_USAGE. */
static int global_flag(struct parser *ps)
{
    struct cli_invocation *inv = ps->inv;
    const char *arg = ps->argv[ps->i];
    const char *value;
    double secs;

    if (strcmp(arg, "--json") == 0)
        inv->json = true;
    else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0)
        inv->quiet = true;
    else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
        inv->help = true;
    else if (strcmp(arg, "--wait") == 0)
        inv->wait = true;
    else if (strcmp(arg, "--download") == 0)
        inv->download = true;
    else if (strcmp(arg, "-o") == 0 || is_flag(arg, "--output") || strncmp(arg, "-o=", 3) == 0) {
        if (inv->output != NULL) {
            snprintf(ps->err, ps->errlen, "-o is given twice");
            return CLI_EXIT_USAGE;
        }
        if (flag_value(ps, "-o", &inv->output) != 0)
            return CLI_EXIT_USAGE;
    } else if (is_flag(arg, "--timeout")) {
        if (flag_value(ps, "--timeout", &value) != 0)
            return CLI_EXIT_USAGE;
        if (sz_parse_decimal(value, &secs) != 0 || secs > 1e7) {
            snprintf(ps->err, ps->errlen, "--timeout must be a number of seconds, not '%s'", value);
            return CLI_EXIT_USAGE;
        }
        inv->timeout_ms = (uint64_t)(secs * 1000.0 + 0.5);
        inv->timeout_set = true;
    } else
        return 1;
    return 0;
}

/* Finds flag among the main tool's parameters, then the download tools'
 * (whose id the job fills, never a flag); *ptarget is where its value goes. */
static const struct cli_param *find_flag(struct parser *ps, const char *flag, json_t **ptarget)
{
    const struct cli_param *p = cli_tool_flag(ps->inv->tool, flag);

    *ptarget = ps->inv->args;
    for (int k = 0; p == NULL && k < 2; k++) {
        p = cli_tool_flag(ps->dl[k], flag);
        if (p != NULL && strcmp(p->name, ps->dl_id[k]) == 0)
            p = NULL;
        *ptarget = ps->inv->dl_args;
    }
    return p;
}

/* A flag of the main tool or of a download tool. 0 consumed, 1 not one of
 * theirs, or CLI_EXIT_USAGE. */
static int tool_flag(struct parser *ps)
{
    const char *arg = ps->argv[ps->i] + 2;
    const char *eq = strchr(arg, '=');
    const char *value = "true";
    const struct cli_param *p;
    json_t *target;
    char flag[64];
    const char *shown = ps->argv[ps->i];

    snprintf(flag, sizeof(flag), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
    p = find_flag(ps, flag, &target);
    if (p == NULL && eq == NULL && strncmp(flag, "no-", 3) == 0) {
        p = find_flag(ps, flag + 3, &target);
        if (p == NULL || p->type != CLI_P_BOOLEAN)
            return 1;
        value = "false";
    } else if (p == NULL) {
        return 1;
    } else if (p->type != CLI_P_BOOLEAN || eq != NULL) {
        if (flag_value(ps, shown, &value) != 0)
            return CLI_EXIT_USAGE;
    }
    if (put(target, p->name, p->type, p->flag, value, ps->err, ps->errlen) != 0)
        return CLI_EXIT_USAGE;
    return 0;
}

/* A flag no tool of the command knows: it goes to the main tool as the
 * argument it would name, and the engine refuses it, naming the closest
 * argument it takes. The wait command has no tool to ask. */
static int unknown_flag(struct parser *ps)
{
    const char *arg = ps->argv[ps->i];
    const char *eq = strchr(arg, '=');
    char name[64];
    size_t i, n = eq ? (size_t)(eq - arg) : strlen(arg);

    if (ps->inv->tool == NULL || strncmp(arg, "--", 2) != 0 || n <= 2) {
        char words[64];
        cli_command_words(ps->cmd, words, sizeof(words));
        snprintf(ps->err, ps->errlen, "unknown option '%.*s' (see sanzaru %s --help)", (int)n, arg,
                 words);
        return CLI_EXIT_USAGE;
    }
    for (i = 0; i + 2 < n && i + 1 < sizeof(name); i++)
        name[i] = arg[i + 2] == '-' ? '_' : arg[i + 2];
    name[i] = '\0';
    if (eq != NULL)
        json_object_set_new(ps->inv->args, name, json_string(eq + 1));
    else if (ps->i + 1 < ps->argc && ps->argv[ps->i + 1][0] != '-')
        json_object_set_new(ps->inv->args, name, json_string(ps->argv[++ps->i]));
    else
        json_object_set_new(ps->inv->args, name, json_true());
    return 0;
}

static void split_output(struct cli_invocation *inv)
{
    const char *slash = strrchr(inv->output, '/');

    if (slash == NULL) {
        inv->out_dir = strdup(".");
        inv->out_name = strdup(inv->output);
    } else {
        size_t n = (size_t)(slash - inv->output);
        inv->out_dir = n == 0 ? strdup("/") : strndup(inv->output, n);
        inv->out_name = strdup(slash + 1);
    }
}

/* -o: the file's name goes to the argument that names the saved file, of the
 * tool that saves (the download tool of a job), and its directory becomes the
 * root of that kind for this run. */
static int place_output(struct parser *ps)
{
    struct cli_invocation *inv = ps->inv;
    const struct cli_command *cmd = ps->cmd;
    bool via_download = cmd->special == CLI_SPECIAL_WAIT || cli_download_tool(cmd) != NULL;
    const char *param = cmd->special == CLI_SPECIAL_WAIT ? "filename" : cmd->out_param;
    json_t *target = via_download ? inv->dl_args : inv->args;

    if (param == NULL) {
        snprintf(ps->err, ps->errlen, "-o does not apply to %s: %s", cmd->name,
                 cmd->saved_field ? "it names its output itself" : "it saves no file");
        return CLI_EXIT_USAGE;
    }
    if (inv->ninputs > 1) {
        snprintf(ps->err, ps->errlen, "-o names one file: give one input, not %zu", inv->ninputs);
        return CLI_EXIT_USAGE;
    }
    if (json_object_get(target, param) != NULL) {
        char flag[64];
        cli_kebab(param, flag, sizeof(flag));
        snprintf(ps->err, ps->errlen, "give -o or --%s, not both", flag);
        return CLI_EXIT_USAGE;
    }
    split_output(inv);
    if (inv->out_dir == NULL || inv->out_name == NULL)
        return CLI_EXIT_ERROR;
    if (inv->out_name[0] == '\0') {
        snprintf(ps->err, ps->errlen, "-o needs a file name, not a directory: '%s'", inv->output);
        return CLI_EXIT_USAGE;
    }
    json_object_set_new(target, param, json_string(inv->out_name));
    if (via_download)
        inv->download = true;
    return 0;
}

/* What the flags imply, and what they may not be combined with. */
static int settle(struct parser *ps)
{
    struct cli_invocation *inv = ps->inv;
    const struct cli_command *cmd = ps->cmd;
    const char *pos = cmd->positional;
    bool waits = cmd->job != CLI_JOB_NONE || cmd->special == CLI_SPECIAL_WAIT;
    int rc;

    if (cmd->special == CLI_SPECIAL_WAIT && inv->ninputs == 0) {
        snprintf(ps->err, ps->errlen, "wait needs at least one job id (video_... or resp_...)");
        return CLI_EXIT_USAGE;
    }
    if (cmd->special != CLI_SPECIAL_WAIT && inv->ninputs > 0 && pos == NULL) {
        snprintf(ps->err, ps->errlen, "unexpected argument '%s': %s takes flags only",
                 inv->inputs[0], cmd->name);
        return CLI_EXIT_USAGE;
    }
    if (pos != NULL && inv->ninputs > 0 && json_object_get(inv->args, pos) != NULL) {
        char flag[64];
        cli_kebab(pos, flag, sizeof(flag));
        snprintf(ps->err, ps->errlen, "give the %s as a word or as --%s, not both", pos, flag);
        return CLI_EXIT_USAGE;
    }
    if (inv->output != NULL && (rc = place_output(ps)) != 0)
        return rc;
    if (json_object_size(inv->dl_args) > 0)
        inv->download = true;
    if (inv->download && cmd->role != CLI_ROLE_DOWNLOAD)
        inv->wait = true;
    if (cmd->role == CLI_ROLE_DOWNLOAD)
        inv->download = false; /* the command's own tool downloads */
    if ((inv->wait || inv->download) && !waits) {
        snprintf(ps->err, ps->errlen, "--wait and --download do not apply to %s: it starts no job",
                 cmd->name);
        return CLI_EXIT_USAGE;
    }
    if (inv->timeout_set && !inv->wait && cmd->special != CLI_SPECIAL_WAIT) {
        snprintf(ps->err, ps->errlen, "--timeout applies to --wait");
        return CLI_EXIT_USAGE;
    }
    if (cmd->special == CLI_SPECIAL_WAIT)
        inv->wait = true;
    return 0;
}

int cli_parse(const struct cli_tools *tools, const struct cli_command *cmd, int argc, char **argv,
              struct cli_invocation *inv, char *err, size_t errlen)
{
    struct parser ps = {.tools = tools,
                        .cmd = cmd,
                        .inv = inv,
                        .argc = argc,
                        .argv = argv,
                        .err = err,
                        .errlen = errlen};
    const char *dl = cli_download_tool(cmd);
    int rc = 0;

    memset(inv, 0, sizeof(*inv));
    inv->cmd = cmd;
    inv->tool = cli_tools_find(tools, cmd->tool);
    inv->args = json_object();
    inv->dl_args = json_object();
    inv->inputs = calloc((size_t)argc + 1, sizeof(*inv->inputs));
    if (inv->args == NULL || inv->dl_args == NULL || inv->inputs == NULL)
        return CLI_EXIT_ERROR;
    if (cmd->special == CLI_SPECIAL_WAIT) {
        ps.dl[0] = cli_tools_find(tools, cli_jobkinds[CLI_JOB_VIDEO].download_tool);
        ps.dl_id[0] = cli_jobkinds[CLI_JOB_VIDEO].id_param;
        ps.dl[1] = cli_tools_find(tools, cli_jobkinds[CLI_JOB_IMAGE].download_tool);
        ps.dl_id[1] = cli_jobkinds[CLI_JOB_IMAGE].id_param;
    } else if (dl != NULL) {
        ps.dl[0] = cli_tools_find(tools, dl);
        ps.dl_id[0] = cli_jobkinds[cmd->job].id_param;
    }
    for (ps.i = 0; ps.i < argc && rc == 0; ps.i++) {
        const char *arg = argv[ps.i];
        if (ps.no_more_flags || arg[0] != '-' || strcmp(arg, "-") == 0) {
            inv->inputs[inv->ninputs++] = argv[ps.i];
        } else if (strcmp(arg, "--") == 0) {
            ps.no_more_flags = true;
        } else if ((rc = global_flag(&ps)) == 1 &&
                   (strncmp(arg, "--", 2) != 0 || (rc = tool_flag(&ps)) == 1)) {
            rc = unknown_flag(&ps);
        }
    }
    if (rc == 0 && !inv->help)
        rc = settle(&ps);
    return rc;
}

void cli_invocation_clear(struct cli_invocation *inv)
{
    json_decref(inv->args);
    json_decref(inv->dl_args);
    free(inv->inputs);
    free(inv->out_dir);
    free(inv->out_name);
    memset(inv, 0, sizeof(*inv));
}

/* ---- messages ----------------------------------------------------------------- */

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

void cli_flagify(const char *msg, char *out, size_t outlen)
{
    static const char prefix[] = "Invalid arguments for tool ";
    size_t used = 0;

    if (strncmp(msg, prefix, sizeof(prefix) - 1) == 0 && strstr(msg, ": ") != NULL)
        msg = strstr(msg, ": ") + 2;
    while (*msg != '\0' && used + 1 < outlen) {
        size_t n = 0;
        if (msg[0] == '\'' && msg[1] >= 'a' && msg[1] <= 'z') {
            n = 1;
            while (ident_char(msg[n]))
                n++;
            if (msg[n] == '[') { /* an array item: 'input_images[2]' */
                n++;
                while (msg[n] >= '0' && msg[n] <= '9')
                    n++;
                n += msg[n] == ']';
            }
            n = msg[n] == '\'' ? n : 0;
        }
        if (n == 0) {
            out[used++] = *msg++;
            continue;
        }
        if (used + 3 < outlen) {
            out[used++] = '-';
            out[used++] = '-';
        }
        for (size_t k = 1; k < n && used + 1 < outlen; k++)
            out[used++] = msg[k] == '_' ? '-' : msg[k];
        msg += n + 1;
    }
    out[used] = '\0';
}
