/* The retry policy of the official OpenAI SDKs, as a pure function.
 *
 * Kept apart from the transport so that it can be tested exhaustively: given what
 * happened on one attempt (a transport failure or an HTTP status with its headers),
 * how many retries were already done, the limit, a random number and the current time,
 * it says whether to retry and how long to wait. No I/O, no globals; any thread. The
 * policy is the de facto standard of HTTP APIs (Retry-After, 429, 5xx), so every
 * provider on net/ shares it. */
#ifndef SZ_NET_RETRY_H
#define SZ_NET_RETRY_H

#include <time.h>

struct net_retry_in {
    /* Nonzero when the attempt produced no usable HTTP response: connection refused or
     * reset, DNS or TLS failure, a timeout (connect, request, first byte or stall), a
     * truncated body. Such failures are retried while retries remain. */
    int transport_error;
    /* HTTP status of the final response when transport_error is 0. */
    long status;
    /* Header values of that response, or NULL when absent. */
    const char *should_retry;   /* x-should-retry */
    const char *retry_after_ms; /* retry-after-ms: milliseconds, may be fractional */
    const char *retry_after;    /* retry-after: seconds (may be fractional) or an HTTP date */
    /* Nonzero when a streaming sink already received the response: never retried. */
    int sink_started;
    int retries_done; /* retries already performed for this request (n) */
    int max_retries;  /* default 2 */
    double random;    /* uniform in [0, 1): jitter */
    time_t now;       /* wall clock, for an HTTP-date retry-after */
};

/* Returns 1 and sets *pdelay_ms (rounded up to whole milliseconds) when the request
 * should be retried, else 0 (and *pdelay_ms = 0). Rules, in order:
 *   - no retry when sink_started, or when retries_done >= max_retries;
 *   - transport errors retry;
 *   - a 2xx status never retries; otherwise x-should-retry "true" retries and "false"
 *     does not; otherwise 408, 409, 429 and >= 500 retry;
 *   - the delay is retry-after-ms (a float) when it parses, else retry-after as a float
 *     number of seconds, else retry-after as an HTTP date (anything curl_getdate
 *     reads: the three RFC 9110 forms, a date without a zone taken as GMT) minus now,
 *     used only when 0 < delay <= 60 s; otherwise
 *     min(0.5 * 2^retries_done, 8) * (1 - 0.25 * random) seconds. */
int net_retry_decide(const struct net_retry_in *in, long *pdelay_ms);

#endif
