/* stderr logger behind log.h. The level is process-wide and set once at start
 * (or by tests); it is read on the loop thread and by pool jobs, never written
 * concurrently with them. Every line is escaped here, once, rather than at each
 * call site: a log line interpolates names, ids and upstream texts, and any of
 * them may carry a newline. */
#include "fmacros.h"

#include "core/log.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

/* Copies the NUL-terminated in to out (outlen > 0) with every control
 * character escaped, so that no value interpolated into a line can end it or
 * start a forged one, or drive a terminal: C0 controls and DEL as \n, \r, \t
 * or \xNN, and C1 controls (U+0080..U+009F, UTF-8 "\xc2\x80".."\xc2\x9f") as
 * \u0080... Other bytes pass unchanged. Truncates at a whole escape. */
static void escape_line(const char *in, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;

    for (; *p != '\0'; p++) {
        char esc[8];
        size_t n;

        if (*p == '\n' || *p == '\r' || *p == '\t') {
            esc[0] = '\\';
            esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
            n = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", p[1]);
            p++;
        } else {
            esc[0] = (char)*p;
            n = 1;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, esc, n);
        o += n;
    }
    out[o] = '\0';
}

void sz_log(enum sz_log_level level, const char *fmt, ...)
{
    char line[2048];
    char safe[4 * sizeof(line)];
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
    escape_line(line, safe, sizeof(safe));
    fprintf(stderr, "%s.%03ldZ %s %s%s\n", stamp, now.tv_nsec / 1000000L, level_names[level],
            ident_prefix, safe);
}
