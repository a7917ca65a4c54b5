/* Strict number parsing for parse.h: strtoll/strtoull/strtod do the
 * conversion; the checks around them refuse everything they would forgive. */
#include "fmacros.h"

#include "core/parse.h"
#include "core/err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int sz_parse_ll(const char *s, long long min, long long max, long long *pout)
{
    char *end = NULL;
    long long n;

    if (s == NULL || !(is_digit(s[0]) || (s[0] == '-' && is_digit(s[1]))))
        return SZ_EINVAL;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return SZ_EINVAL;
    *pout = n;
    return 0;
}

int sz_parse_ull(const char *s, unsigned long long min, unsigned long long max,
                 unsigned long long *pout)
{
    char *end = NULL;
    unsigned long long n;

    if (s == NULL || !is_digit(s[0]))
        return SZ_EINVAL;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return SZ_EINVAL;
    *pout = n;
    return 0;
}

int sz_parse_decimal(const char *s, double *pout)
{
    const char *p = s;
    char *end = NULL;
    double v;

    if (s == NULL || !is_digit(s[0]))
        return SZ_EINVAL;
    while (is_digit(*p))
        p++;
    if (*p == '.')
        for (p++; is_digit(*p); p++)
            ;
    if (*p != '\0')
        return SZ_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return SZ_EINVAL;
    *pout = v;
    return 0;
}

int sz_parse_setting(const char *name, const char *value, long long min, long long max,
                     long long *pout, char *err, size_t errlen)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    if (sz_parse_ll(value, min, max, pout) == 0)
        return 0;
    snprintf(err, errlen, "%s must be an integer from %lld to %lld, got '%s'", name, min, max,
             value);
    return SZ_EINVAL;
}
