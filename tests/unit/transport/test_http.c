/* Unit tests of the HTTP transport's pure parts (src/transport/http_util.c, http_sse.c):
 * Accept matching, the Host and Origin rules, bearer token comparison, session and event
 * ids, and the bounded SSE replay log. The transport as a whole is tested end to end in
 * tests/e2e/http*.test.mjs and by the conformance suite. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/err.h"
#include "transport/http_int.h"

static void test_accepts(void **state)
{
    (void)state;
    assert_true(http_accepts("application/json, text/event-stream", "application/json"));
    assert_true(http_accepts("application/json, text/event-stream", "text/event-stream"));
    assert_true(http_accepts("text/event-stream;q=0.9,application/json", "application/json"));
    assert_true(http_accepts("*/*", "text/event-stream"));
    assert_true(http_accepts("text/*", "text/event-stream"));
    assert_true(http_accepts("  Application/JSON ", "application/json"));
    assert_false(http_accepts("application/json", "text/event-stream"));
    assert_false(http_accepts("text/html", "text/event-stream"));
    assert_false(http_accepts("text/event-stream; q=0", "text/event-stream"));
    assert_false(http_accepts("application/jsonx", "application/json"));
    assert_false(http_accepts("", "application/json"));
    assert_false(http_accepts(NULL, "application/json"));
    assert_false(http_accepts("image/*", "text/event-stream"));
}

static void test_host(void **state)
{
    (void)state;
    assert_true(http_host_is_loopback("localhost"));
    assert_true(http_host_is_loopback("localhost:8000"));
    assert_true(http_host_is_loopback("LOCALHOST."));
    assert_true(http_host_is_loopback("app.localhost:1"));
    assert_true(http_host_is_loopback("127.0.0.1:8000"));
    assert_true(http_host_is_loopback("127.1.2.3"));
    assert_true(http_host_is_loopback("[::1]:8000"));
    assert_true(http_host_is_loopback("[::1]"));
    assert_false(http_host_is_loopback("evil.example.com"));
    assert_false(http_host_is_loopback("evil.example.com:8000"));
    assert_false(http_host_is_loopback("localhost.evil.com"));
    assert_false(http_host_is_loopback("128.0.0.1"));
    assert_false(http_host_is_loopback("10.0.0.1:8000"));
    assert_false(http_host_is_loopback("::1")); /* an IPv6 literal needs brackets */
    assert_false(http_host_is_loopback("[::1]x"));
    assert_false(http_host_is_loopback(""));
    assert_false(http_host_is_loopback(NULL));
}

static void test_origin(void **state)
{
    (void)state;
    assert_true(http_origin_allowed("http://localhost", NULL));
    assert_true(http_origin_allowed("http://localhost:6274", NULL));
    assert_true(http_origin_allowed("https://127.0.0.1:8443", NULL));
    assert_true(http_origin_allowed("http://[::1]:3000", NULL));
    assert_false(http_origin_allowed("http://evil.example.com", NULL));
    assert_false(http_origin_allowed("http://localhost.evil.com", NULL));
    assert_false(http_origin_allowed("ftp://localhost", NULL));
    assert_false(http_origin_allowed("null", NULL));
    assert_false(http_origin_allowed("http://localhost/path", NULL));
    assert_false(http_origin_allowed(NULL, NULL));
    assert_true(http_origin_allowed("https://app.example.com",
                                    "https://other.example, https://APP.example.com/"));
    assert_false(http_origin_allowed("https://app.example.com.evil", "https://app.example.com"));
    assert_false(http_origin_allowed("https://app.example.co", "https://app.example.com"));
    assert_true(http_origin_allowed("https://anything.example", "*"));
    assert_false(http_origin_allowed("https://anything.example", ""));
}

static void test_bearer(void **state)
{
    (void)state;
    assert_true(http_bearer_ok("Bearer s3cret", "s3cret"));
    assert_true(http_bearer_ok("bearer   s3cret", "s3cret"));
    assert_false(http_bearer_ok("Bearer s3cre", "s3cret"));
    assert_false(http_bearer_ok("Bearer s3cretX", "s3cret"));
    assert_false(http_bearer_ok("Basic s3cret", "s3cret"));
    assert_false(http_bearer_ok("Bearers3cret", "s3cret"));
    assert_false(http_bearer_ok("s3cret", "s3cret"));
    assert_false(http_bearer_ok(NULL, "s3cret"));
    assert_false(http_bearer_ok("Bearer ", "s3cret"));
}

static void test_session_id(void **state)
{
    char a[HTTP_SID_LEN + 1], b[HTTP_SID_LEN + 1];
    (void)state;
    assert_int_equal(http_session_id_new(a), 0);
    assert_int_equal(http_session_id_new(b), 0);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
}

static void test_event_id(void **state)
{
    uint64_t s = 0, n = 0;
    (void)state;
    assert_true(http_parse_event_id("3-17", &s, &n));
    assert_int_equal(s, 3);
    assert_int_equal(n, 17);
    assert_true(http_parse_event_id("0-0", &s, &n));
    assert_int_equal(s, 0);
    assert_int_equal(n, 0);
    assert_false(http_parse_event_id("3", &s, &n));
    assert_false(http_parse_event_id("-3", &s, &n));
    assert_false(http_parse_event_id("3-", &s, &n));
    assert_false(http_parse_event_id("3-x", &s, &n));
    assert_false(http_parse_event_id("3-1-2", &s, &n));
    assert_false(http_parse_event_id("99999999999999999999-1", &s, &n));
    assert_false(http_parse_event_id(NULL, &s, &n));
}

static void test_versions(void **state)
{
    (void)state;
    assert_true(http_protocol_version_supported("2025-11-25"));
    assert_true(http_protocol_version_supported("2025-06-18"));
    assert_true(http_protocol_version_supported("2025-03-26"));
    assert_true(http_protocol_version_supported("2024-11-05"));
    assert_true(http_protocol_version_supported("2026-07-28")); /* the modern era */
    assert_false(http_protocol_version_supported("2099-01-01"));
    assert_false(http_protocol_version_supported(""));
    assert_false(http_protocol_version_supported(NULL));
}

static void test_addr(void **state)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    (void)state;
    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    assert_true(http_addr_is_loopback((struct sockaddr *)&a4));
    inet_pton(AF_INET, "0.0.0.0", &a4.sin_addr);
    assert_false(http_addr_is_loopback((struct sockaddr *)&a4));
    inet_pton(AF_INET, "192.168.1.2", &a4.sin_addr);
    assert_false(http_addr_is_loopback((struct sockaddr *)&a4));
    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_true(http_addr_is_loopback((struct sockaddr *)&a6));
    inet_pton(AF_INET6, "::ffff:127.0.0.2", &a6.sin6_addr);
    assert_true(http_addr_is_loopback((struct sockaddr *)&a6));
    inet_pton(AF_INET6, "::", &a6.sin6_addr);
    assert_false(http_addr_is_loopback((struct sockaddr *)&a6));
}

static void test_sse_format(void **state)
{
    struct http_sse_log l;
    const struct http_event *ev;
    (void)state;
    http_sse_log_init(&l, 1 << 20, 100);
    assert_int_equal(http_sse_log_push(&l, 7, "{\"a\":1}", 7, false, 0), 0);
    assert_int_equal(http_sse_log_push(&l, 7, "{\"b\":2}", 7, true, 0), 0);
    ev = http_sse_log_find(&l, 1);
    assert_non_null(ev);
    assert_int_equal(ev->seq, 1);
    assert_string_equal(ev->text, "id: 7-1\nevent: message\ndata: {\"a\":1}\n\n");
    assert_int_equal(ev->len, strlen(ev->text));
    assert_memory_equal(ev->text + ev->data_off, "{\"a\":1}", ev->data_len);
    ev = http_sse_log_find(&l, 2);
    assert_non_null(ev);
    assert_true(ev->final);
    assert_string_equal(ev->text, "id: 7-2\nevent: message\ndata: {\"b\":2}\n\n");
    assert_null(http_sse_log_find(&l, 3));
    http_sse_log_free(&l);
}

/* A modern stream is not resumable: its events carry no id. */
static void test_sse_no_ids(void **state)
{
    struct http_sse_log l;
    const struct http_event *ev;
    (void)state;
    http_sse_log_init(&l, 1 << 20, 100);
    l.no_ids = true;
    assert_int_equal(http_sse_log_push(&l, 7, "{\"a\":1}", 7, true, 0), 0);
    ev = http_sse_log_find(&l, 1);
    assert_non_null(ev);
    assert_string_equal(ev->text, "event: message\ndata: {\"a\":1}\n\n");
    assert_memory_equal(ev->text + ev->data_off, "{\"a\":1}", ev->data_len);
    http_sse_log_free(&l);
}

/* Decodes one header value; NULL expects a refusal. */
static void decodes(const char *raw, const char *want, size_t want_len)
{
    char *out = NULL;
    size_t n = 0;
    int rc = http_header_decode(raw, &out, &n);

    if (want == NULL) {
        assert_int_equal(rc, SZ_EINVAL);
        assert_null(out);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, n);
    free(out);
}

/* Mcp-Name and Mcp-Param-* values (2026-07-28 streamable-http.mdx, "Value Encoding"). */
static void test_header_decode(void **state)
{
    (void)state;
    decodes("us-west1", "us-west1", 8);
    decodes("  get_weather \t", "get_weather", 11); /* optional whitespace around */
    decodes("=?base64?SGVsbG8sIOS4lueVjA==?=", "Hello, \xe4\xb8\x96\xe7\x95\x8c", 13);
    decodes("=?base64?IHBhZGRlZCA=?=", " padded ", 8);
    decodes("=?base64?bGluZTEKbGluZTI=?=", "line1\nline2", 11);
    decodes("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", "=?base64?literal?=", 18);
    decodes("=?base64?AGE=?=", "\0a", 2); /* a NUL is kept, and then cannot match a name */
    /* the sentinel without its end, or its start, is a literal */
    decodes("=?base64?SGVsbG8=", "=?base64?SGVsbG8=", 17);
    decodes("SGVsbG8=?=", "SGVsbG8=?=", 10);
    /* bad Base64: unpadded, outside the alphabet, URL-safe, inner space */
    decodes("=?base64?SGVsbG8?=", NULL, 0);
    decodes("=?base64?SGVs!!!bG8=?=", NULL, 0);
    decodes("=?base64?SGV-bG8_?=", NULL, 0);
    decodes("=?base64?SGVs bG8=?=", NULL, 0);
    /* characters a header may not carry */
    decodes("caf\xc3\xa9", NULL, 0);
    decodes("a\x01b", NULL, 0);
    decodes("", "", 0);
}

static void test_sse_bounded(void **state)
{
    struct http_sse_log l;
    const struct http_event *ev;
    char msg[32];
    (void)state;
    http_sse_log_init(&l, 1 << 20, 4);
    assert_int_equal(http_sse_log_push(&l, 1, "{}", 2, false, 0), 0);
    /* event 2 is being written (pinned) and must survive while others go */
    for (int i = 0; i < 8; i++) {
        snprintf(msg, sizeof(msg), "{\"i\":%d}", i);
        assert_int_equal(http_sse_log_push(&l, 1, msg, strlen(msg), false, 2), 0);
    }
    assert_int_equal(l.count, 4);
    ev = http_sse_log_find(&l, 0);
    assert_int_equal(ev->seq, 2); /* pinned, kept */
    ev = http_sse_log_find(&l, 3);
    assert_int_equal(ev->seq, 7); /* 3..6 dropped: find skips to the next kept one */
    assert_int_equal(l.dropped, 5);
    /* a final event is never dropped */
    assert_int_equal(http_sse_log_push(&l, 1, "{\"final\":1}", 11, true, 0), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(http_sse_log_push(&l, 1, "{}", 2, false, 0), 0);
    ev = http_sse_log_find(&l, 0);
    assert_true(ev->final);
    assert_int_equal(ev->seq, 10);
    assert_int_equal(http_sse_log_last(&l)->seq, 18);
    http_sse_log_free(&l);
}

static void test_sse_bytes(void **state)
{
    struct http_sse_log l;
    char big[1000];
    (void)state;
    memset(big, 'x', sizeof(big));
    big[0] = '"';
    big[sizeof(big) - 1] = '"';
    http_sse_log_init(&l, 4096, 1000);
    for (int i = 0; i < 50; i++)
        assert_int_equal(http_sse_log_push(&l, 2, big, sizeof(big), false, 0), 0);
    assert_true(l.bytes <= 4096);
    assert_int_equal(http_sse_log_last(&l)->seq, 50);
    http_sse_log_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),       cmocka_unit_test(test_host),
        cmocka_unit_test(test_origin),        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_session_id),    cmocka_unit_test(test_event_id),
        cmocka_unit_test(test_versions),      cmocka_unit_test(test_addr),
        cmocka_unit_test(test_sse_format),    cmocka_unit_test(test_sse_bounded),
        cmocka_unit_test(test_sse_bytes),     cmocka_unit_test(test_sse_no_ids),
        cmocka_unit_test(test_header_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
