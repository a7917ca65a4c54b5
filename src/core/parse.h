/* Strict number parsing, for every number that arrives as text: environment
 * variables, command-line flags, HTTP headers, cursors.
 *
 * Strict means the whole string is a plain decimal number: no leading or
 * trailing space, no sign on unsigned values, no "0x", no trailing garbage,
 * nothing out of range. strtol alone accepts " 12abc" as 12; a typo in a
 * setting must stop the server with a reason instead. Pure; any thread. */
#ifndef SZ_CORE_PARSE_H
#define SZ_CORE_PARSE_H

#include <stddef.h>

/* Parses s as a decimal integer within [min, max]. Returns 0 and sets *pout,
 * or SZ_EINVAL (NULL, empty, not a number, out of range; *pout untouched). */
int sz_parse_ll(const char *s, long long min, long long max, long long *pout);

/* The same for unsigned values; a leading '-' or '+' is refused. */
int sz_parse_ull(const char *s, unsigned long long min, unsigned long long max,
                 unsigned long long *pout);

/* Parses s as a finite decimal number (digits, one optional '.', optional
 * fraction; no sign, exponent, "inf" or "nan"). 0 or SZ_EINVAL. */
int sz_parse_decimal(const char *s, double *pout);

/* A named setting: when value is NULL or empty, *pout keeps its default and 0
 * is returned; otherwise it is parsed as by sz_parse_ll and, when it is not a
 * number within range, SZ_EINVAL is returned with "<name> must be an integer
 * from <min> to <max>, got '<value>'" in err. */
int sz_parse_setting(const char *name, const char *value, long long min, long long max,
                     long long *pout, char *err, size_t errlen);

#endif
