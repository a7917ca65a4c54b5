/* What the CLI's files share: the command table (commands.c), the tools'
 * parameters read from their input schemas and the parsed command line
 * (flags.c), the in-process client of the engine (rpc.c), the envelope and
 * the progress display (output.c), and the runner (run.c).
 *
 * Thread: the loop thread only. */
#ifndef SZ_CLI_INT_H
#define SZ_CLI_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "cli/cli.h"
#include "core/list.h"

struct mcp_session;

/* jansson takes json_t * where it only reads; this says so where we hold a
 * const one. */
static inline json_t *cli_mut(const json_t *v)
{
    return (json_t *)(uintptr_t)v;
}

/* ---- commands (commands.c) -------------------------------------------------- */

/* What waiting on a command's result means. */
enum cli_job { CLI_JOB_NONE, CLI_JOB_VIDEO, CLI_JOB_IMAGE, CLI_JOB_COUNT };

/* How to follow one kind of job: poll its status tool, then save it. */
struct cli_jobkind {
    const char *noun;          /* "video" */
    const char *status_tool;   /* get_video_status */
    const char *download_tool; /* download_video */
    const char *id_param;      /* the id argument of both: video_id */
    enum cli_media media;      /* the root download_tool saves into */
    uint64_t first_ms, max_ms; /* poll intervals: the first, growing by half to max */
};
extern const struct cli_jobkind cli_jobkinds[CLI_JOB_COUNT];

/* The role of a command's tool in its job. */
enum cli_role {
    CLI_ROLE_PLAIN,    /* no job: call and render */
    CLI_ROLE_START,    /* starts a job: the result's id is the job (create, remix) */
    CLI_ROLE_STATUS,   /* the job's status tool: the word after the command is the id */
    CLI_ROLE_DOWNLOAD, /* the job's download tool: the word is the id; --wait waits first */
};

enum cli_special { CLI_SPECIAL_NONE, CLI_SPECIAL_WAIT, CLI_SPECIAL_CAPABILITIES };

struct cli_command {
    const char *name;       /* "video.create": the envelope's command */
    const char *group;      /* "video" */
    const char *verb;       /* "create"; NULL for a command of one word (wait) */
    const char *tool;       /* the tool it calls; NULL for a special command */
    const char *positional; /* the argument the words after the command fill, or NULL */
    enum cli_job job;
    enum cli_role role;
    /* The argument -o fills, in the tool that saves (the job's download tool
     * for START and STATUS commands, else tool), or NULL when -o does not apply. */
    const char *out_param;
    enum cli_media out_media; /* the root the command saves into */
    /* The member of the saving tool's result that names the saved file
     * (relative to its root), for the "path" the CLI adds; NULL: saves none. */
    const char *saved_field;
    enum cli_special special;
    const char *summary; /* for a special command, or a tool that is not registered */
};

extern const struct cli_command cli_commands[];
extern const size_t cli_ncommands;

/* The command named by argv (group, then verb when the group has several), or
 * NULL. *pwords is how many words named it (1 or 2). */
const struct cli_command *cli_command_find(int argc, char **argv, int *pwords);
/* True when word is the first word of some command. */
bool cli_group_known(const char *word);

/* ---- tool parameters (flags.c) ---------------------------------------------- */

enum cli_ptype {
    CLI_P_STRING,
    CLI_P_INTEGER,
    CLI_P_NUMBER,
    CLI_P_BOOLEAN,
    CLI_P_ARRAY,
    CLI_P_OBJECT
};

struct cli_param {
    const char *name; /* as the tool takes it (borrowed from the listing) */
    char flag[64];    /* kebab-case, without the dashes */
    enum cli_ptype type;
    bool required;
    const json_t *value; /* the value's schema (inside anyOf [T, null]); borrowed */
    const json_t *prop;  /* the property's schema (description, default); borrowed */
};

struct cli_tool {
    const char *name; /* borrowed from listing */
    json_t *listing;  /* the tools/list entry, owned */
    struct cli_param *params;
    size_t nparams;
};

/* Builds a tool's parameters from its tools/list entry (taken: a reference is
 * kept). 0 or SZ_ENOMEM. */
int cli_tool_init(struct cli_tool *t, json_t *listing);
void cli_tool_clear(struct cli_tool *t);
const struct cli_param *cli_tool_param(const struct cli_tool *t, const char *name);
const struct cli_param *cli_tool_flag(const struct cli_tool *t, const char *flag);
const char *cli_tool_title(const struct cli_tool *t);
const char *cli_ptype_name(enum cli_ptype type);

/* The tools of the server, by name. */
struct cli_tools {
    struct cli_tool *v;
    size_t n;
};
const struct cli_tool *cli_tools_find(const struct cli_tools *tools, const char *name);

/* A parsed command line. */
struct cli_invocation {
    const struct cli_command *cmd;
    const struct cli_tool *tool; /* cmd->tool's; NULL for wait and capabilities */
    bool json, quiet, help;
    bool wait, download;
    const char *output; /* -o FILE as given (argv), or NULL */
    char *out_dir;      /* its directory ("." for a bare name), malloc'd */
    char *out_name;     /* its last component, malloc'd */
    uint64_t timeout_ms;
    bool timeout_set;
    json_t *args;    /* the main tool's arguments (no positional), owned */
    json_t *dl_args; /* the download tool's, without the id, owned (START/STATUS/wait) */
    char **inputs;   /* the words after the command (argv strings, borrowed) */
    size_t ninputs;
    char **shown; /* the download flags as given, for a resume hint (borrowed) */
    size_t nshown;
};

/* Parses argv after the command's words (borrowed) into inv, with the tools'
 * schemas. Returns 0, or CLI_EXIT_USAGE with one sentence in err. */
int cli_parse(const struct cli_tools *tools, const struct cli_command *cmd, int argc, char **argv,
              struct cli_invocation *inv, char *err, size_t errlen);
void cli_invocation_clear(struct cli_invocation *inv);

/* The download tool whose flags a command also takes (START and STATUS
 * commands), or NULL. */
const char *cli_download_tool(const struct cli_command *cmd);

/* Help: the whole CLI, one group, or one command (flags from the schemas). */
void cli_help_all(FILE *out, const struct cli_tools *tools, const char *server_usage);
void cli_help_group(FILE *out, const struct cli_tools *tools, const char *group);
void cli_help_command(FILE *out, const struct cli_tools *tools, const struct cli_command *cmd);

/* What `sanzaru capabilities` answers: every command with its flags. New
 * reference. */
json_t *cli_capabilities(const struct cli_tools *tools);

/* An engine's refusal of arguments as a command line says it: without the
 * "Invalid arguments for tool x: " prefix, and each quoted argument name
 * ('video_id') as the flag that sets it (--video-id). Writes to out. */
void cli_flagify(const char *msg, char *out, size_t outlen);

/* name with '_' as '-': the flag of an argument, without its dashes. */
void cli_kebab(const char *name, char *out, size_t outlen);
/* "video create", "wait": the words that name cmd. */
void cli_command_words(const struct cli_command *cmd, char *out, size_t outlen);

/* ---- the in-process client (rpc.c) ------------------------------------------ */

/* A reply: result or error (borrowed for the call) is set. */
typedef void cli_reply_fn(void *data, const json_t *result, const json_t *error);
/* A notifications/progress for token. */
typedef void cli_progress_fn(void *data, long long token, double progress, double total);

struct cli_rpc;

/* Opens a session on server. 0 or SZ_ENOMEM. */
int cli_rpc_new(uv_loop_t *loop, struct mcp_server *server, cli_progress_fn *on_progress,
                void *data, struct cli_rpc **prpc);
/* Sends a request (params stolen; NULL, from a failed json_pack, fails the
 * call); fn runs later, on the loop, exactly once unless the rpc closes first.
 * Returns the request's id (> 0; a tools/call carries it as its progress token
 * too), or 0 when nothing was sent (out of memory, or closing) and fn will
 * not run. */
long long cli_rpc_call(struct cli_rpc *rpc, const char *method, json_t *params, cli_reply_fn *fn,
                       void *data);
/* Sends a notification (params stolen, may be NULL). */
void cli_rpc_notify(struct cli_rpc *rpc, const char *method, json_t *params);
/* Ends the session: calls in flight are cancelled (their tools stop and
 * remove what they were writing) and no reply fn runs. done runs once they
 * are gone and the rpc has freed itself (its handle closed). */
typedef void cli_rpc_done_fn(void *data);
void cli_rpc_close(struct cli_rpc *rpc, cli_rpc_done_fn *done, void *data);

/* ---- output (output.c) ------------------------------------------------------ */

struct cli_out {
    FILE *out, *err;
    bool human;     /* readable lines on out (a terminal without --json) */
    bool bar;       /* a live progress bar on err */
    bool progress;  /* any progress at all (not --quiet) */
    bool bar_shown; /* the bar's line is on the screen and must be cleared */
};

/* Error types of the envelope and the exit status each means. */
const char *cli_error_type(int status);

/* Writes one envelope: ok with result (borrowed), or an error of status with
 * message. extra (borrowed, may be NULL) adds members (id, index, resume,
 * job). */
void cli_emit(struct cli_out *o, const char *command, const json_t *result, int status,
              const char *message, const json_t *extra);

/* One progress update. phase "wait": status and percent (< 0 unknown);
 * "download" (or any saving phase): bytes received of total (0 unknown), rate
 * in bytes/s, eta in seconds (< 0 unknown). */
struct cli_progress {
    const char *command;
    const char *label; /* the job id, or the input */
    const char *phase;
    const char *status;
    double percent;
    double elapsed_s;
    double bytes, total, rate, eta_s;
};
void cli_show_progress(struct cli_out *o, const struct cli_progress *p);
/* Clears the bar's line before other output. */
void cli_clear_progress(struct cli_out *o);

/* A shell word for value: as it is when safe, else in single quotes. */
void cli_shell_quote(const char *value, char *out, size_t outlen);

/* ---- the run (cli.c, run.c) ------------------------------------------------- */

enum cli_phase { CLI_PHASE_CALL, CLI_PHASE_WAIT, CLI_PHASE_SAVE, CLI_PHASE_DONE };

/* One input of the command: one call, and the job it starts or follows. */
struct cli_item {
    struct cli *cli;
    size_t index;
    const char *input; /* the word it came from (borrowed), or NULL */
    json_t *args;      /* the main tool's arguments, owned */
    enum cli_job job;  /* what its job is, CLI_JOB_NONE for none */
    char id[160];      /* the job's id, once known */
    json_t *job_obj;   /* the job as last seen, owned */
    enum cli_phase phase;
    long long call;      /* the request in flight (its progress token), 0 for none */
    uv_timer_t timer;    /* the next poll */
    uint64_t started_ms; /* when waiting started (uv_now) */
    uint64_t deadline_ms;
    uint64_t interval_ms;
    uint64_t call_started_ns; /* for a download's rate */
    int status;               /* the exit status it ended with */
};

struct cli {
    struct cli_options opts;
    struct cli_rpc *rpc;
    struct cli_tools tools;
    struct cli_invocation inv;
    bool have_inv;
    struct cli_out out;
    char *media_path[CLI_MEDIA_COUNT]; /* absolute */
    uint64_t poll_first_ms[CLI_JOB_COUNT], poll_max_ms[CLI_JOB_COUNT];
    struct cli_item *items;
    size_t nitems, running;
    int status[8]; /* how many items ended with each status (see run.c) */
    int handles;   /* our libuv handles not yet closed */
    bool rpc_open;
    bool closing, interrupted, ready;
    int setup_status;
    uv_signal_t sigint, sigterm;
};

/* The rpc's progress function: the download or steps of the item whose call
 * token is (data: the cli). */
void cli_on_progress(void *data, long long token, double progress, double total);

/* Sends initialize and tools/list and fills cli->tools; runs the loop until
 * they are in. 0 or an exit status. */
int cli_load_tools(struct cli *cli);

#endif
