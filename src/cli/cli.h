/* The agent command line: `sanzaru video create "a cat" --wait -o cat.mp4`.
 *
 * Every command is a tool call on the server's own engine, made in process: the
 * CLI opens an mcp_session on the mcp_server the app built (every tool
 * registered), reads the tools' input schemas with tools/list, turns the words
 * and flags into one tool's arguments object (a flag per argument, kebab-case
 * of its name, validated by the tool's own table), calls it with tools/call and
 * renders the result as a JSON envelope on stdout, or as readable lines on a
 * terminal. Waiting is more calls of the same engine (get_video_status,
 * get_image_status) on uv_timers; downloading is download_video or
 * download_image. There is no second implementation of any tool.
 *
 * The app drives it in two steps around opening the media roots, because the
 * -o directory of a command becomes the root its file is saved under:
 *
 *   cli_new      reads the schemas and parses argv (prints help, or a usage
 *                error, and returns its exit status when there is nothing to run)
 *   cli_output_dir / cli_set_media   the app opens the roots and says where they are
 *   cli_run      runs the calls to the end; returns the exit status
 *   cli_free
 *
 * Exit statuses: 0 ok, 1 runtime or API error, 2 usage, 3 configuration, 4 a
 * wait timed out (the job keeps running; the envelope says how to resume), 5
 * the job failed upstream, 6 some inputs of a batch failed, 130 interrupted.
 *
 * Thread: the loop thread (the caller's), like the engine. */
#ifndef SZ_CLI_H
#define SZ_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

struct mcp_server;
struct cli;

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_CONFIG = 3,
    CLI_EXIT_TIMEOUT = 4,
    CLI_EXIT_JOB_FAILED = 5,
    CLI_EXIT_PARTIAL = 6,
    CLI_EXIT_INTERRUPTED = 130,
};

/* The media roots a command can save into. */
enum cli_media { CLI_MEDIA_VIDEOS, CLI_MEDIA_IMAGES, CLI_MEDIA_AUDIO, CLI_MEDIA_COUNT };

struct cli_options {
    uv_loop_t *loop;
    struct mcp_server *server; /* every tool registered; borrowed, outlives the cli */
    FILE *out;                 /* results (stdout) */
    FILE *err;                 /* progress and messages (stderr) */
    bool out_tty;              /* out is a terminal: readable lines unless --json */
    bool err_tty;              /* err is a terminal: a live progress bar */
    /* "FIRST[,MAX]" milliseconds between polls for every kind of job, for tests
     * (SANZARU_CLI_POLL_MS); NULL for the defaults (video 5 s growing to 20 s,
     * image 2 s growing to 10 s). */
    const char *poll_ms;
    const char *server_usage; /* the server's --help text, shown before the commands' */
};

/* True when word (argv[1]) names a command group or command: the binary then
 * runs the CLI rather than the server. */
bool cli_is_command(const char *word);

/* Writes the list of commands, one line each, for the server's --help. */
void cli_print_commands(FILE *out);

/* Reads the tool schemas through an in-process session (running the loop
 * until they arrive) and parses argv (argv[0] is the command word, argv is
 * borrowed and must outlive the cli). Returns 0 with *pcli set when there is
 * something to run; otherwise *pcli is NULL and the exit status is returned
 * after the CLI printed what it had to (help: 0; a usage error as an envelope:
 * 2; 1 when out of memory). */
int cli_new(const struct cli_options *o, int argc, char **argv, struct cli **pcli);

/* The directory -o names (as given: "." for a bare name) and the kind of root
 * it stands in for, or NULL when the command saves nothing there. Borrowed. */
const char *cli_output_dir(const struct cli *cli, enum cli_media *pkind);

/* Says where root kind is (path, for the "path" of saved files; may be NULL;
 * copied). error, why it could not be opened, is not needed: a tool that needs
 * the root fails with that sentence as a configuration error (_meta
 * sanzaru/errorKind), and the CLI exits 3 for it. */
void cli_set_media(struct cli *cli, enum cli_media kind, const char *path, const char *error);

/* Runs the command to the end (SIGINT and SIGTERM interrupt it: calls in
 * flight are cancelled, no partial file is left) and returns the exit status.
 * Runs the loop; returns with the loop stopped, its own handles closing. */
int cli_run(struct cli *cli);

/* Frees the cli; call after cli_run, then run the loop to let handles close.
 * NULL is a no-op. */
void cli_free(struct cli *cli);

/* Reports an error found before a cli exists (a bad environment: status 3;
 * a -o directory that cannot be opened: 2) as the command's envelope, or as a
 * readable line on a terminal. argv as for cli_new. Returns status. */
int cli_report(const struct cli_options *o, int argc, char **argv, int status, const char *msg);

#endif
