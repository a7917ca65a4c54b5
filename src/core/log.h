/* Levelled logging to stderr.
 *
 * stdout carries the protocol in stdio mode, so every diagnostic goes through
 * here to stderr. Lines are short and written with one fprintf each; stderr is
 * unbuffered, so a line is never interleaved with another. The level and the
 * program name a line carries are set by the caller at start (default: INFO,
 * no name). */
#ifndef SZ_LOG_H
#define SZ_LOG_H

enum sz_log_level { SZ_LOG_DEBUG = 0, SZ_LOG_INFO, SZ_LOG_WARNING, SZ_LOG_ERROR, SZ_LOG_OFF };

/* Parses "debug", "INFO", "warn", "warning", "error" (any case).
 * Returns 0 and sets *plevel, or SZ_EINVAL. */
int sz_log_parse_level(const char *name, enum sz_log_level *plevel);
const char *sz_log_level_name(enum sz_log_level level);

void sz_log_set_level(enum sz_log_level level);
enum sz_log_level sz_log_get_level(void);

/* The program name written after the level ("<time> INFO name: message");
 * NULL or "" for none. Borrowed: a static string, or one that outlives every
 * log call. Set once at start, before other threads log. */
void sz_log_set_ident(const char *ident);

/* Writes one line "<UTC time> LEVEL [ident: ]message" to stderr when level is
 * enabled. The formatted message is escaped: control characters become \n, \r,
 * \t, \xNN (C0, DEL) or \u0080..\u009f (C1), so a value interpolated into it
 * (an id, a name, an upstream message) can never end the line or forge
 * another. Any thread. */
void sz_log(enum sz_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SZ_DEBUG(...) sz_log(SZ_LOG_DEBUG, __VA_ARGS__)
#define SZ_INFO(...)  sz_log(SZ_LOG_INFO, __VA_ARGS__)
#define SZ_WARN(...)  sz_log(SZ_LOG_WARNING, __VA_ARGS__)
#define SZ_ERROR(...) sz_log(SZ_LOG_ERROR, __VA_ARGS__)

#endif
