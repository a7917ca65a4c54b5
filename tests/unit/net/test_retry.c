/* Unit tests of the retry policy (src/net/retry.c): one table row per case of the
 * official SDKs' rules (statuses, x-should-retry, retry-after-ms, retry-after in
 * seconds and as an HTTP date, attempt limits, backoff and jitter). Pure: no loop. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "net/retry.h"

struct retry_row {
    int line;
    int transport;
    long status;
    const char *should_retry, *ra_ms, *ra;
    int sink_started, done, max;
    double rnd;
    int expect;
    long delay;
};

#define NOW 1700000000L /* Tue, 14 Nov 2023 22:13:20 GMT */

static void test_retry_table(void **state)
{
    static const struct retry_row rows[] = {
        /* statuses, no headers, random 0: first backoff is 500 ms */
        {__LINE__, 0, 200, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 201, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 204, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 400, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 401, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 403, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 404, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 407, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 408, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 409, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 410, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 422, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 429, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 499, NULL, NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 502, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 504, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 599, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        /* x-should-retry overrides the status, both ways; exact "true"/"false" only */
        {__LINE__, 0, 400, "true", NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 404, "true", NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 500, "false", NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 429, "false", NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 503, "false", "10", NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 400, "TRUE", NULL, NULL, 0, 0, 2, 0, 0, 0},
        {__LINE__, 0, 500, "yes", NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 200, "true", NULL, NULL, 0, 0, 2, 0, 0, 0},
        /* transport errors retry, with backoff only */
        {__LINE__, 1, 0, NULL, NULL, NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 1, 0, NULL, "20", "5", 0, 0, 2, 0, 1, 500},
        /* attempt limits */
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 1, 2, 0, 1, 1000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 2, 2, 0, 0, 0},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 3, 2, 0, 0, 0},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0},
        {__LINE__, 1, 0, NULL, NULL, NULL, 0, 2, 2, 0, 0, 0},
        {__LINE__, 0, 429, "true", "10", NULL, 0, 5, 5, 0, 0, 0},
        /* a sink that saw the response is never retried */
        {__LINE__, 1, 0, NULL, NULL, NULL, 1, 0, 2, 0, 0, 0},
        {__LINE__, 0, 500, "true", NULL, NULL, 1, 0, 2, 0, 0, 0},
        /* retry-after-ms */
        {__LINE__, 0, 429, NULL, "20", NULL, 0, 0, 2, 0, 1, 20},
        {__LINE__, 0, 429, NULL, "20.5", NULL, 0, 0, 2, 0, 1, 21},
        {__LINE__, 0, 429, NULL, " 7 ", NULL, 0, 0, 2, 0, 1, 7},
        {__LINE__, 0, 429, NULL, "0.4", NULL, 0, 0, 2, 0, 1, 1},
        {__LINE__, 0, 429, NULL, "60000", NULL, 0, 0, 2, 0, 1, 60000},
        {__LINE__, 0, 429, NULL, "60001", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "0", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "-5", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "nan", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "inf", NULL, 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 429, NULL, "1e12", NULL, 0, 0, 2, 0, 1, 500},
        /* retry-after-ms wins over retry-after; unparsable falls through to it */
        {__LINE__, 0, 429, NULL, "30", "2", 0, 0, 2, 0, 1, 30},
        {__LINE__, 0, 429, NULL, "abc", "2", 0, 0, 2, 0, 1, 2000},
        {__LINE__, 0, 429, NULL, "", "2", 0, 0, 2, 0, 1, 2000},
        {__LINE__, 0, 429, NULL, "12ms", "3", 0, 0, 2, 0, 1, 3000},
        /* a parsable but out-of-range retry-after-ms does not fall back to retry-after */
        {__LINE__, 0, 429, NULL, "-1", "2", 0, 0, 2, 0, 1, 500},
        /* retry-after in seconds */
        {__LINE__, 0, 503, NULL, NULL, "2", 0, 0, 2, 0, 1, 2000},
        {__LINE__, 0, 503, NULL, NULL, "0.25", 0, 0, 2, 0, 1, 250},
        {__LINE__, 0, 503, NULL, NULL, "60", 0, 0, 2, 0, 1, 60000},
        {__LINE__, 0, 503, NULL, NULL, "61", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "120", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "0", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "-1", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "99999999999999999999", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "soon", 0, 0, 2, 0, 1, 500},
        /* retry-after as an HTTP date, relative to NOW */
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:13:50 GMT", 0, 0, 2, 0, 1, 30000},
        {__LINE__, 0, 503, NULL, NULL, "Tuesday, 14-Nov-23 22:13:25 GMT", 0, 0, 2, 0, 1, 5000},
        {__LINE__, 0, 503, NULL, NULL, "Tue Nov 14 22:14:20 2023", 0, 0, 2, 0, 1, 60000},
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:14:21 GMT", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:13:10 GMT", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:13:20 GMT", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "Wed, 15 Nov 2023 22:13:20 GMT", 0, 0, 2, 0, 1, 500},
        {__LINE__, 0, 503, NULL, NULL, "Tue, 14 Nov 2023 22:13:50 PST", 0, 0, 2, 0, 1, 500},
        /* backoff: min(0.5 * 2^n, 8) * (1 - 0.25 * random) */
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 10, 0.0, 1, 500},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 1, 10, 0.0, 1, 1000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 2, 10, 0.0, 1, 2000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 3, 10, 0.0, 1, 4000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 4, 10, 0.0, 1, 8000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 5, 10, 0.0, 1, 8000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 9, 10, 0.0, 1, 8000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 10, 1.0, 1, 375},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 1, 10, 1.0, 1, 750},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 4, 10, 1.0, 1, 6000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 7, 10, 1.0, 1, 6000},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 0, 10, 0.5, 1, 438},
        {__LINE__, 1, 0, NULL, NULL, NULL, 0, 1, 10, 1.0, 1, 750},
        {__LINE__, 0, 500, NULL, NULL, NULL, 0, 5000, 100000, 0.0, 1, 8000},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct retry_row *r = &rows[i];
        struct net_retry_in in;
        long delay = -1;
        int got;

        memset(&in, 0, sizeof(in));
        in.transport_error = r->transport;
        in.status = r->status;
        in.should_retry = r->should_retry;
        in.retry_after_ms = r->ra_ms;
        in.retry_after = r->ra;
        in.sink_started = r->sink_started;
        in.retries_done = r->done;
        in.max_retries = r->max;
        in.random = r->rnd;
        in.now = (time_t)NOW;
        got = net_retry_decide(&in, &delay);
        if (got != r->expect || delay != r->delay)
            fail_msg("row at line %d: got retry=%d delay=%ld, want retry=%d delay=%ld", r->line,
                     got, delay, r->expect, r->delay);
    }
}

/* Jitter stays inside its bounds for every random in [0, 1). */
static void test_retry_backoff_bounds(void **state)
{
    (void)state;
    for (int n = 0; n < 8; n++) {
        double base = 500.0 * (double)(1 << n);
        if (base > 8000.0)
            base = 8000.0;
        for (int k = 0; k <= 100; k++) {
            struct net_retry_in in = {.status = 500, .retries_done = n, .max_retries = 100};
            long d = -1;
            in.random = k / 100.0;
            assert_int_equal(net_retry_decide(&in, &d), 1);
            assert_true(d >= (long)(base * 0.75) && d <= (long)base);
        }
    }
}

/* HTTP dates in retry-after are read by curl_getdate: the three forms of RFC 9110
 * (IMF-fixdate, RFC 850, asctime), relative to `now`; what it cannot read, or a
 * date that is not within (0, 60] s ahead, falls back to the backoff. */
static void test_retry_after_dates(void **state)
{
    static const struct {
        int line;
        const char *value;
        long now;
        long delay;
    } rows[] = {
        /* 1994-11-06 08:49:37 GMT is 784111777 */
        {__LINE__, "Sun, 06 Nov 1994 08:49:37 GMT", 784111777L - 30, 30000},
        {__LINE__, "Sunday, 06-Nov-94 08:49:37 GMT", 784111777L - 30, 30000},
        {__LINE__, "Sun Nov  6 08:49:37 1994", 784111777L - 30, 30000},
        {__LINE__, "  Sun, 06 Nov 1994 08:49:37 GMT", 784111777L - 1, 1000},
        /* curl_getdate takes a date without a zone as GMT */
        {__LINE__, "Sun, 06 Nov 1994 08:49:37", 784111777L - 30, 30000},
        /* unreadable: backoff (random 0: 500 ms) */
        {__LINE__, "Sun, 06 Foo 1994 08:49:37 GMT", 784111777L - 30, 500},
        {__LINE__, "Sun, 06 Nov 1994 25:49:37 GMT", 784111777L - 30, 500},
        {__LINE__, "", 784111777L - 30, 500},
        {__LINE__, "12x", 784111777L - 30, 500},
        /* in the past, now, or too far ahead */
        {__LINE__, "Sun, 06 Nov 1994 08:49:37 GMT", 784111777L + 1, 500},
        {__LINE__, "Sun, 06 Nov 1994 08:49:37 GMT", 784111777L, 500},
        {__LINE__, "Sun, 06 Nov 1994 08:49:37 GMT", 784111777L - 61, 500},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct net_retry_in in = {.status = 503, .max_retries = 2};
        long delay = -1;
        in.retry_after = rows[i].value;
        in.now = (time_t)rows[i].now;
        if (net_retry_decide(&in, &delay) != 1 || delay != rows[i].delay)
            fail_msg("row at line %d: got delay=%ld, want %ld", rows[i].line, delay, rows[i].delay);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_table),
        cmocka_unit_test(test_retry_backoff_bounds),
        cmocka_unit_test(test_retry_after_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
