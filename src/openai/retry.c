/* Retry decisions and Retry-After parsing for the OpenAI client (see retry.h).
 *
 * Mirrors the official SDKs (openai-python _should_retry/_calculate_retry_timeout and
 * openai-node shouldRetry/retryRequest): x-should-retry wins over the status, the
 * server's own delay is honoured when it is between 0 and 60 seconds, and otherwise an
 * exponential backoff from 0.5 s capped at 8 s with up to 25 % jitter. */
#include "fmacros.h"

#include "openai/retry.h"
#include "core/err.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INITIAL_DELAY_S 0.5
#define MAX_DELAY_S     8.0
#define MAX_HONOURED_S  60.0

/* A float the way Python's float() takes it: surrounding whitespace allowed, nothing
 * else. Returns 1 and *pv on success. */
static int parse_float(const char *s, double *pv)
{
    char *end = NULL;
    double v;

    if (s == NULL)
        return 0;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return 0;
    v = strtod(s, &end);
    if (end == s)
        return 0;
    while (isspace((unsigned char)*end))
        end++;
    if (*end != '\0')
        return 0;
    *pv = v;
    return 1;
}

static int month_index(const char *m)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++) {
        if (strcasecmp(m, months[i]) == 0)
            return i;
    }
    return -1;
}

static int valid_clock(int h, int mi, int s)
{
    return h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

int oai_parse_http_date(const char *s, time_t *pt)
{
    char wday[16], mon[4], zone[8];
    int day, year, h, mi, sec, n = 0;
    struct tm tm;
    time_t t;

    if (s == NULL)
        return SZ_EINVAL;
    while (isspace((unsigned char)*s))
        s++;
    memset(&tm, 0, sizeof(tm));
    /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    if (sscanf(s, "%15[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %7s%n", wday, &day, mon, &year, &h,
               &mi, &sec, zone, &n) == 8 &&
        s[n] == '\0') {
        /* ok */
    } else if (n = 0, sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%4d %2d:%2d:%2d %7s%n", wday, &day,
                             mon, &year, &h, &mi, &sec, zone, &n) == 8 &&
                          s[n] == '\0') {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        if (year < 100)
            year += year < 70 ? 2000 : 1900;
    } else if (n = 0, sscanf(s, "%15[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wday, mon, &day, &h,
                             &mi, &sec, &year, &n) == 7 &&
                          s[n] == '\0') {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        strcpy(zone, "GMT");
    } else {
        return SZ_EINVAL;
    }
    if (strcasecmp(zone, "GMT") != 0 && strcasecmp(zone, "UTC") != 0)
        return SZ_EINVAL;
    tm.tm_mon = month_index(mon);
    if (tm.tm_mon < 0 || day < 1 || day > 31 || year < 1970 || year > 9999 ||
        !valid_clock(h, mi, sec))
        return SZ_EINVAL;
    tm.tm_mday = day;
    tm.tm_year = year - 1900;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return SZ_EINVAL;
    *pt = t;
    return 0;
}

static int status_retries(const struct oai_retry_in *in)
{
    if (in->status >= 200 && in->status < 300)
        return 0;
    if (in->should_retry != NULL && strcmp(in->should_retry, "true") == 0)
        return 1;
    if (in->should_retry != NULL && strcmp(in->should_retry, "false") == 0)
        return 0;
    return in->status == 408 || in->status == 409 || in->status == 429 || in->status >= 500;
}

/* The server's requested delay in seconds, or NAN when it gave none we can read. */
static double server_delay_s(const struct oai_retry_in *in)
{
    double v;
    time_t when;

    if (parse_float(in->retry_after_ms, &v))
        return v / 1000.0;
    if (parse_float(in->retry_after, &v))
        return v;
    if (in->retry_after != NULL && oai_parse_http_date(in->retry_after, &when) == 0)
        return difftime(when, in->now);
    return NAN;
}

int oai_retry_decide(const struct oai_retry_in *in, long *pdelay_ms)
{
    double delay_s, rnd;
    int n;

    *pdelay_ms = 0;
    if (in->sink_started || in->retries_done >= in->max_retries)
        return 0;
    if (!in->transport_error && !status_retries(in))
        return 0;

    delay_s = in->transport_error ? NAN : server_delay_s(in);
    if (!(delay_s > 0.0 && delay_s <= MAX_HONOURED_S)) {
        n = in->retries_done < 0 ? 0 : (in->retries_done > 1000 ? 1000 : in->retries_done);
        rnd = in->random;
        if (!(rnd >= 0.0))
            rnd = 0.0;
        if (rnd > 1.0)
            rnd = 1.0;
        delay_s = fmin(INITIAL_DELAY_S * pow(2.0, n), MAX_DELAY_S) * (1.0 - 0.25 * rnd);
    }
    *pdelay_ms = (long)ceil(delay_s * 1000.0 - 1e-9);
    if (*pdelay_ms < 0)
        *pdelay_ms = 0;
    return 1;
}
