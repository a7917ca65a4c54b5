/* Command-line parsing: defaults, both value spellings, and a one-line refusal
 * for every kind of bad input. */
#include "fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "app/args.h"
#include "core/err.h"

static char program[] = "sanzaru";

static int parse(struct sz_args *cli, char *err, size_t errlen, int argc, ...)
{
    char *argv[16] = {program};
    va_list ap;

    va_start(ap, argc);
    for (int i = 1; i <= argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return sz_args_parse(argc + 1, argv, cli, err, errlen);
}

static void test_defaults(void **state)
{
    struct sz_args cli;
    char err[256] = "";
    (void)state;
    assert_int_equal(parse(&cli, err, sizeof(err), 0), 0);
    assert_int_equal(cli.transport, SZ_TRANSPORT_STDIO);
    assert_string_equal(cli.host, "127.0.0.1");
    assert_int_equal(cli.port, 8000);
    assert_false(cli.log_level_set);
    assert_false(cli.stateless);
}

static void test_values(void **state)
{
    struct sz_args cli;
    char err[256] = "";
    (void)state;
    assert_int_equal(parse(&cli, err, sizeof(err), 7, "--transport", "http", "--host=0.0.0.0",
                           "--port", "0", "--log-level=debug", "--stateless"),
                     0);
    assert_int_equal(cli.transport, SZ_TRANSPORT_HTTP);
    assert_string_equal(cli.host, "0.0.0.0");
    assert_int_equal(cli.port, 0);
    assert_true(cli.log_level_set);
    assert_int_equal(cli.log_level, SZ_LOG_DEBUG);
    assert_true(cli.stateless);
    assert_int_equal(parse(&cli, err, sizeof(err), 2, "--version", "--allow-unauthenticated"), 0);
    assert_true(cli.version);
    assert_true(cli.allow_unauthenticated);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *args[3];
        const char *reason;
    } cases[] = {
        {{"--bogus"}, "unknown option '--bogus'"},
        {{"--port", "abc"}, "--port must be a number"},
        {{"--port", "-1"}, "--port must be a number"},
        {{"--port", "65536"}, "--port must be a number"},
        {{"--port="}, "--port must be a number"},
        {{"--transport", "smoke"}, "--transport must be stdio or http"},
        {{"--log-level", "loud"}, "--log-level must be"},
        {{"--host"}, "needs a value"},
        {{"--host="}, "--host must not be empty"},
        {{"--transportx"}, "unknown option"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sz_args cli;
        char err[256] = "";
        char *argv[4] = {program, NULL, NULL, NULL};
        int argc = 1;
        for (int j = 0; j < 3 && cases[i].args[j] != NULL; j++)
            argv[argc++] = (char *)(uintptr_t)cases[i].args[j];
        assert_int_equal(sz_args_parse(argc, argv, &cli, err, sizeof(err)), SZ_EINVAL);
        if (strstr(err, cases[i].reason) == NULL)
            fail_msg("case %zu: '%s' does not mention '%s'", i, err, cases[i].reason);
        assert_null(strchr(err, '\n'));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
