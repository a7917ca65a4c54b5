/* Unit tests for the logger (core/log.h): the level filter, the caller's
 * program name, and the escaping that keeps every log line one line whatever
 * the values interpolated into it hold (issue 10: a video_id carrying a newline
 * and a fake timestamp forged a log line). stderr is redirected to a temporary
 * file for each test and read back. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"

static int saved_stderr = -1;
static FILE *capture;

static int start_capture(void **state)
{
    (void)state;
    fflush(stderr);
    capture = tmpfile();
    assert_non_null(capture);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(fileno(capture), 2), 2);
    sz_log_set_level(SZ_LOG_INFO);
    sz_log_set_ident(NULL);
    return 0;
}

static int stop_capture(void **state)
{
    (void)state;
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    fclose(capture);
    return 0;
}

/* Everything logged since start_capture (a static buffer). */
static const char *captured(void)
{
    static char buf[16384];
    size_t n;

    fflush(stderr);
    rewind(capture);
    n = fread(buf, 1, sizeof(buf) - 1, capture);
    buf[n] = '\0';
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* The message part of the only line: after "<time> LEVEL ". */
static const char *message_of(const char *line, const char *level)
{
    const char *p = strstr(line, level);
    assert_non_null(p);
    return p + strlen(level) + 1;
}

static void test_levels_and_ident(void **state)
{
    const char *out;
    (void)state;

    SZ_DEBUG("hidden %d", 1);
    SZ_INFO("shown %d", 2);
    sz_log_set_ident("prog");
    SZ_ERROR("named");
    sz_log_set_level(SZ_LOG_OFF);
    SZ_ERROR("off");
    out = captured();
    assert_int_equal(count_lines(out), 2);
    assert_null(strstr(out, "hidden"));
    assert_null(strstr(out, "off"));
    assert_non_null(strstr(out, "Z INFO shown 2\n"));
    assert_non_null(strstr(out, "Z ERROR prog: named\n"));
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ " */
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[23], 'Z');
}

/* The attack of issue 10: an id holding a newline and a fake timestamp. */
static void test_forged_line(void **state)
{
    const char *id = "video_1\n2026-01-01T00:00:00.000Z ERROR sanzaru: fake\r\x1b[2K";
    const char *out;
    (void)state;

    sz_log_set_ident("sanzaru");
    SZ_INFO("download_video %s done", id);
    out = captured();
    assert_int_equal(count_lines(out), 1);
    assert_string_equal(message_of(out, "INFO"),
                        "sanzaru: download_video video_1\\n2026-01-01T00:00:00.000Z ERROR sanzaru: "
                        "fake\\r\\x1b[2K done\n");
}

static void test_escapes(void **state)
{
    const char *out;
    (void)state;

    /* C0 controls, tab, DEL and the C1 controls (U+0080..U+009F) are escaped;
     * other UTF-8 and backslashes stay as they are. */
    SZ_WARN("a\tb\x01 c\x7f d\xc2\x9b e\xc2\xa0 caf\xc3\xa9 back\\slash");
    out = captured();
    assert_int_equal(count_lines(out), 1);
    assert_string_equal(message_of(out, "WARNING"),
                        "a\\tb\\x01 c\\x7f d\\u009b e\xc2\xa0 caf\xc3\xa9 back\\slash\n");
}

static void test_long_line(void **state)
{
    char big[3000];
    const char *out;
    (void)state;

    /* Escaping may quadruple a line: it is still cut, still one line. */
    memset(big, '\n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    SZ_INFO("%s", big);
    out = captured();
    assert_int_equal(count_lines(out), 1);
    assert_true(strlen(out) > 2047 * 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, start_capture, stop_capture)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_levels_and_ident),
        T(test_forged_line),
        T(test_escapes),
        T(test_long_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
