/* stderr logger behind log.h. The level is process-wide and set once at start
 * (or by tests); it is read on the loop thread and by pool jobs, never written
 * concurrently with them. */
#include "fmacros.h"

#include "core/log.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

static enum sz_log_level current_level = SZ_LOG_INFO;
static const char *ident_prefix = ""; /* "name: " or "" */
static char ident_buf[64];

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "OFF"};

int sz_log_parse_level(const char *name, enum sz_log_level *plevel)
{
    static const struct {
        const char *name;
        enum sz_log_level level;
    } table[] = {
        {"debug", SZ_LOG_DEBUG},  {"info", SZ_LOG_INFO},   {"warning", SZ_LOG_WARNING},
        {"warn", SZ_LOG_WARNING}, {"error", SZ_LOG_ERROR}, {"off", SZ_LOG_OFF},
    };
    if (name == NULL)
        return SZ_EINVAL;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcasecmp(name, table[i].name) == 0) {
            *plevel = table[i].level;
            return 0;
        }
    }
    return SZ_EINVAL;
}

const char *sz_log_level_name(enum sz_log_level level)
{
    if (level > SZ_LOG_OFF)
        return "?";
    return level_names[level];
}

void sz_log_set_level(enum sz_log_level level)
{
    current_level = level;
}

enum sz_log_level sz_log_get_level(void)
{
    return current_level;
}

void sz_log_set_ident(const char *ident)
{
    if (ident == NULL || ident[0] == '\0') {
        ident_prefix = "";
        return;
    }
    snprintf(ident_buf, sizeof(ident_buf), "%s: ", ident);
    ident_prefix = ident_buf;
}

void sz_log(enum sz_log_level level, const char *fmt, ...)
{
    char line[2048];
    char stamp[32];
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (level < current_level || level >= SZ_LOG_OFF)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ %s %s%s\n", stamp, now.tv_nsec / 1000000L, level_names[level],
            ident_prefix, line);
}
