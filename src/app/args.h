/* Command-line parsing, kept apart from start-up so it can be unit-tested.
 *
 * sanzaru [--transport stdio|http] [--host H] [--port P] [--log-level L]
 *         [--stateless] [--allow-unauthenticated] [--version] [--help]
 * Both "--flag value" and "--flag=value" are accepted. */
#ifndef SZ_APP_ARGS_H
#define SZ_APP_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/log.h"

enum sz_transport_kind { SZ_TRANSPORT_STDIO, SZ_TRANSPORT_HTTP };

struct sz_args {
    enum sz_transport_kind transport;
    const char *host; /* borrowed from argv or a literal */
    int port;
    bool log_level_set;
    enum sz_log_level log_level;
    bool stateless;
    bool allow_unauthenticated;
    bool version;
    bool help;
};

/* Fills *cli from argv (borrowed). Returns 0, or SZ_EINVAL with a one-line
 * reason in err (exit status 2). */
int sz_args_parse(int argc, char **argv, struct sz_args *cli, char *err, size_t errlen);

#endif
