/* Unit tests of sz_config_http (src/app/config.c): the SANZARU_HTTP_* settings mapped
 * onto the HTTP transport's options. Every variable: its default, a value within range,
 * both bounds, and the one-line reason for a bad value (the server prints it and exits
 * with status 2). */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app/config.h"
#include "core/err.h"
#include "transport/http.h"

static const char *const vars[] = {
    "SANZARU_HTTP_MAX_BODY",        "SANZARU_HTTP_MAX_SESSIONS",
    "SANZARU_HTTP_MAX_CONNECTIONS", "SANZARU_HTTP_CONNECTION_TIMEOUT",
    "SANZARU_HTTP_REQUEST_TIMEOUT", "SANZARU_HTTP_SESSION_TTL",
    "SANZARU_HTTP_HEADER_TIMEOUT",  "SANZARU_HTTP_MAX_CLIENT_CONNECTIONS",
};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    return 0;
}

static void test_defaults(void **state)
{
    struct http_options o;
    struct sz_config cfg;
    char err[256] = "";
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.http_token = (char *)(uintptr_t) "s3cret";
    cfg.allowed_origins = (char *)(uintptr_t) "https://app.example";
    assert_int_equal(sz_config_http(&cfg, &o, err, sizeof(err)), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 8000);
    assert_string_equal(o.path, "/mcp");
    assert_int_equal(o.max_body, 4u * 1024u * 1024u);
    assert_int_equal(o.max_sessions, 10000);
    assert_int_equal(o.max_connections, 1000);
    assert_int_equal(o.max_client_connections, 256);
    assert_int_equal(o.connection_timeout_s, 30);
    assert_int_equal(o.header_timeout_s, 10);
    assert_int_equal(o.request_timeout_s, 30);
    assert_int_equal(o.session_ttl_ms, 30u * 60u * 1000u);
    assert_ptr_equal(o.token, cfg.http_token); /* borrowed, not copied */
    assert_ptr_equal(o.allowed_origins, cfg.allowed_origins);
    assert_int_equal(sz_config_http(NULL, &o, err, sizeof(err)), 0);
    assert_null(o.token);
    assert_null(o.allowed_origins);
}

static void test_values(void **state)
{
    struct http_options o;
    char err[256] = "";
    (void)state;
    setenv("SANZARU_HTTP_MAX_BODY", "1024", 1);
    setenv("SANZARU_HTTP_MAX_SESSIONS", "1000000", 1);
    setenv("SANZARU_HTTP_MAX_CONNECTIONS", "3", 1);
    setenv("SANZARU_HTTP_CONNECTION_TIMEOUT", "86400", 1);
    setenv("SANZARU_HTTP_REQUEST_TIMEOUT", "1", 1);
    setenv("SANZARU_HTTP_SESSION_TTL", "2678400", 1);
    setenv("SANZARU_HTTP_HEADER_TIMEOUT", "2", 1);
    setenv("SANZARU_HTTP_MAX_CLIENT_CONNECTIONS", "7", 1);
    assert_int_equal(sz_config_http(NULL, &o, err, sizeof(err)), 0);
    assert_int_equal(o.max_body, 1024);
    assert_int_equal(o.max_sessions, 1000000);
    assert_int_equal(o.max_connections, 3);
    assert_int_equal(o.connection_timeout_s, 86400);
    assert_int_equal(o.request_timeout_s, 1);
    assert_int_equal(o.session_ttl_ms, 2678400ull * 1000ull);
    assert_int_equal(o.header_timeout_s, 2);
    assert_int_equal(o.max_client_connections, 7);
    /* An empty value is the default, as when unset. */
    setenv("SANZARU_HTTP_MAX_CONNECTIONS", "", 1);
    assert_int_equal(sz_config_http(NULL, &o, err, sizeof(err)), 0);
    assert_int_equal(o.max_connections, 1000);
}

struct bad {
    const char *var;
    const char *value;
    const char *message;
};

static void test_bad_values(void **state)
{
    static const struct bad bad[] = {
        {"SANZARU_HTTP_MAX_BODY", "1023",
         "SANZARU_HTTP_MAX_BODY must be an integer from 1024 to 1073741824, got '1023'"},
        {"SANZARU_HTTP_MAX_BODY", "1073741825",
         "SANZARU_HTTP_MAX_BODY must be an integer from 1024 to 1073741824, got '1073741825'"},
        {"SANZARU_HTTP_MAX_SESSIONS", "0",
         "SANZARU_HTTP_MAX_SESSIONS must be an integer from 1 to 1000000, got '0'"},
        {"SANZARU_HTTP_MAX_SESSIONS", "many",
         "SANZARU_HTTP_MAX_SESSIONS must be an integer from 1 to 1000000, got 'many'"},
        {"SANZARU_HTTP_MAX_CONNECTIONS", "-3",
         "SANZARU_HTTP_MAX_CONNECTIONS must be an integer from 1 to 1000000, got '-3'"},
        {"SANZARU_HTTP_MAX_CONNECTIONS", "10x",
         "SANZARU_HTTP_MAX_CONNECTIONS must be an integer from 1 to 1000000, got '10x'"},
        {"SANZARU_HTTP_CONNECTION_TIMEOUT", "86401",
         "SANZARU_HTTP_CONNECTION_TIMEOUT must be an integer from 1 to 86400, got '86401'"},
        {"SANZARU_HTTP_REQUEST_TIMEOUT", "0",
         "SANZARU_HTTP_REQUEST_TIMEOUT must be an integer from 1 to 86400, got '0'"},
        {"SANZARU_HTTP_SESSION_TTL", "1.5",
         "SANZARU_HTTP_SESSION_TTL must be an integer from 1 to 2678400, got '1.5'"},
        {"SANZARU_HTTP_HEADER_TIMEOUT", "0",
         "SANZARU_HTTP_HEADER_TIMEOUT must be an integer from 1 to 86400, got '0'"},
        {"SANZARU_HTTP_MAX_CLIENT_CONNECTIONS", "0",
         "SANZARU_HTTP_MAX_CLIENT_CONNECTIONS must be an integer from 1 to 1000000, got '0'"},
        {"SANZARU_HTTP_SESSION_TTL", " 60",
         "SANZARU_HTTP_SESSION_TTL must be an integer from 1 to 2678400, got ' 60'"},
    };
    struct http_options o;
    char err[256];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        clear_env(NULL);
        setenv(bad[i].var, bad[i].value, 1);
        err[0] = '\0';
        assert_int_equal(sz_config_http(NULL, &o, err, sizeof(err)), SZ_EINVAL);
        assert_string_equal(err, bad[i].message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_values, clear_env),
        cmocka_unit_test_setup(test_bad_values, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
