/* Start-up of the agent command line: the same floors as the server (one
 * engine with every tool on one loop), then the CLI (src/cli) in place of a
 * transport. Between the CLI reading its command line and running it, the
 * media roots are opened, with the -o directory of a command standing in for
 * the root its file is saved under. */
#include "fmacros.h"

#include "app/app_int.h"
#include "cli/cli.h"
#include "core/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The store of a CLI media kind, its error text, and the configuration's name
 * for it. */
static struct store *media_store(struct app_state *st, enum cli_media kind, const char **perr,
                                 int *psz)
{
    switch (kind) {
    case CLI_MEDIA_VIDEOS:
        *perr = st->tools.videos_error;
        *psz = SZ_MEDIA_VIDEOS;
        return st->tools.videos;
    case CLI_MEDIA_IMAGES:
        *perr = st->tools.images_error;
        *psz = SZ_MEDIA_IMAGES;
        return st->tools.images;
    case CLI_MEDIA_AUDIO:
        *perr = st->tools.audio_error;
        *psz = SZ_MEDIA_AUDIO;
        return st->tools.audio;
    default:
        *perr = NULL;
        *psz = -1;
        return NULL;
    }
}

/* Opens the roots (one moved to the -o directory) and tells the CLI where
 * they are. 0, or CLI_EXIT_USAGE after reporting an -o directory that cannot
 * be used. */
static int open_media(struct app_state *st, const struct cli_options *o, struct cli *cli, int argc,
                      char **argv)
{
    enum cli_media kind = CLI_MEDIA_VIDEOS;
    const char *dir = cli_output_dir(cli, &kind);
    const char *why;
    int sz = -1;

    if (dir != NULL)
        media_store(st, kind, &why, &sz);
    app_open_stores(st, sz, dir);
    for (int k = 0; k < CLI_MEDIA_COUNT; k++) {
        struct store *s = media_store(st, (enum cli_media)k, &why, &sz);
        if (dir != NULL && (enum cli_media)k == kind && s == NULL)
            return cli_report(o, argc, argv, CLI_EXIT_USAGE, why);
        cli_set_media(cli, (enum cli_media)k, s != NULL ? store_path(s) : NULL, why);
    }
    return 0;
}

int app_cli_main(int argc, char **argv, sz_register_fn *extra)
{
    struct app_state st;
    struct cli_options o = {
        .out = stdout,
        .err = stderr,
        .out_tty = isatty(1) == 1,
        .err_tty = isatty(2) == 1,
        .poll_ms = getenv("SANZARU_CLI_POLL_MS"),
        .server_usage = sz_usage,
    };
    struct cli *cli = NULL;
    char err[512];
    int status;

    memset(&st, 0, sizeof(st));
    if (sz_config_load(&st.cfg, err, sizeof(err)) != 0) {
        if (strcmp(argv[0], "help") != 0)
            return cli_report(&o, argc, argv, CLI_EXIT_CONFIG, err);
        /* Help without the tools' schemas: what needs no configuration. */
        printf("%s\nCommands:\n", sz_usage);
        cli_print_commands(stdout);
        return CLI_EXIT_OK;
    }
    sz_log_set_ident("sanzaru");
    /* The CLI's stderr is for progress: only warnings, unless asked. */
    sz_log_set_level(getenv("LOG_LEVEL") != NULL ? st.cfg.log_level : SZ_LOG_WARNING);
    status = app_open_floors(&st, extra);
    if (status != 0)
        goto out;
    o.loop = &st.loop;
    o.server = st.server;
    status = cli_new(&o, argc, argv, &cli);
    if (cli == NULL)
        goto out;
    status = open_media(&st, &o, cli, argc, argv);
    if (status == 0)
        status = cli_run(cli);
out:
    cli_free(cli);
    app_close_floors(&st);
    return status;
}
