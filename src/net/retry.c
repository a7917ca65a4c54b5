/* Retry decisions and Retry-After parsing for the HTTP client (see retry.h).
 *
 * Mirrors the official SDKs (openai-python _should_retry/_calculate_retry_timeout and
 * openai-node shouldRetry/retryRequest): x-should-retry wins over the status, the
 * server's own delay is honoured when it is between 0 and 60 seconds, and otherwise an
 * exponential backoff from 0.5 s capped at 8 s with up to 25 % jitter. */
#include "fmacros.h"

#include "net/retry.h"

#include <curl/curl.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int status_retries(const struct net_retry_in *in)
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
static double server_delay_s(const struct net_retry_in *in)
{
    double v;
    time_t when;

    if (parse_float(in->retry_after_ms, &v))
        return v / 1000.0;
    if (parse_float(in->retry_after, &v))
        return v;
    /* An HTTP date; curl_getdate returns -1 for what it cannot read. */
    if (in->retry_after != NULL && (when = curl_getdate(in->retry_after, NULL)) != (time_t)-1)
        return difftime(when, in->now);
    return NAN;
}

int net_retry_decide(const struct net_retry_in *in, long *pdelay_ms)
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
