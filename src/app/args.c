/* Command-line parsing for args.h. A bad command line is a one-line reason and
 * exit status 2, never a half-started server. */
#include "fmacros.h"

#include "app/args.h"
#include "core/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits "--name=value" or takes the next argument as the value. */
static int take_value(int argc, char **argv, int *pi, const char *name, const char **pvalue,
                      char *err, size_t errlen)
{
    const char *arg = argv[*pi];
    size_t n = strlen(name);

    if (arg[n] == '=') {
        *pvalue = arg + n + 1;
        return 0;
    }
    if (*pi + 1 >= argc) {
        snprintf(err, errlen, "option '%s' needs a value", name);
        return SZ_EINVAL;
    }
    *pvalue = argv[++*pi];
    return 0;
}

static bool is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int sz_args_parse(int argc, char **argv, struct sz_args *cli, char *err, size_t errlen)
{
    memset(cli, 0, sizeof(*cli));
    cli->transport = SZ_TRANSPORT_STDIO;
    cli->host = "127.0.0.1";
    cli->port = 8000;
    cli->log_level = SZ_LOG_INFO;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli->help = true;
        } else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
            cli->version = true;
        } else if (strcmp(arg, "--stateless") == 0) {
            cli->stateless = true;
        } else if (strcmp(arg, "--allow-unauthenticated") == 0) {
            cli->allow_unauthenticated = true;
        } else if (is_option(arg, "--transport")) {
            if (take_value(argc, argv, &i, "--transport", &value, err, errlen) != 0)
                return SZ_EINVAL;
            if (strcmp(value, "stdio") == 0) {
                cli->transport = SZ_TRANSPORT_STDIO;
            } else if (strcmp(value, "http") == 0 || strcmp(value, "streamable-http") == 0) {
                cli->transport = SZ_TRANSPORT_HTTP;
            } else {
                snprintf(err, errlen, "--transport must be stdio or http, not '%s'", value);
                return SZ_EINVAL;
            }
        } else if (is_option(arg, "--host")) {
            if (take_value(argc, argv, &i, "--host", &value, err, errlen) != 0)
                return SZ_EINVAL;
            if (value[0] == '\0') {
                snprintf(err, errlen, "--host must not be empty");
                return SZ_EINVAL;
            }
            cli->host = value;
        } else if (is_option(arg, "--port")) {
            char *end = NULL;
            long port;
            if (take_value(argc, argv, &i, "--port", &value, err, errlen) != 0)
                return SZ_EINVAL;
            errno = 0;
            port = strtol(value, &end, 10);
            if (errno != 0 || end == value || *end != '\0' || port < 0 || port > 65535) {
                snprintf(err, errlen, "--port must be a number from 0 to 65535, not '%s'", value);
                return SZ_EINVAL;
            }
            cli->port = (int)port;
        } else if (is_option(arg, "--log-level")) {
            if (take_value(argc, argv, &i, "--log-level", &value, err, errlen) != 0)
                return SZ_EINVAL;
            if (sz_log_parse_level(value, &cli->log_level) != 0) {
                snprintf(err, errlen, "--log-level must be DEBUG, INFO, WARNING or ERROR, not '%s'",
                         value);
                return SZ_EINVAL;
            }
            cli->log_level_set = true;
        } else {
            snprintf(err, errlen, "unknown option '%s' (see --help)", arg);
            return SZ_EINVAL;
        }
    }
    return 0;
}
