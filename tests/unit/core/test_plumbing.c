/* Unit tests for the core plumbing every layer shares: the intrusive list,
 * the bounded growable buffer and the strict number parser. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/list.h"
#include "core/parse.h"

struct item {
    int value;
    struct sz_link link;
};

static int sum(struct sz_link *head)
{
    struct sz_link *pos;
    int total = 0, weight = 1;
    SZ_LIST_FOREACH(pos, head)
    {
        total += weight * container_of(pos, struct item, link)->value;
        weight *= 10;
    }
    return total;
}

static void test_list(void **state)
{
    struct sz_link head, other, *pos, *tmp;
    struct item a = {1, {0}}, b = {2, {0}}, c = {3, {0}};
    (void)state;

    sz_list_init(&head);
    sz_list_init(&other);
    assert_true(sz_list_empty(&head));
    assert_null(sz_list_first(&head));
    sz_list_push_back(&head, &a.link);
    sz_list_push_back(&head, &b.link);
    sz_list_push_front(&head, &c.link);
    assert_int_equal(sum(&head), 3 + 10 * 1 + 100 * 2); /* order c, a, b */
    assert_ptr_equal(sz_list_first(&head), &c.link);

    sz_list_remove(&a.link);
    sz_list_remove(&a.link); /* twice is harmless */
    assert_int_equal(sum(&head), 3 + 10 * 2);

    sz_list_push_back(&other, &a.link);
    sz_list_splice_back(&other, &head);
    assert_true(sz_list_empty(&head));
    assert_int_equal(sum(&other), 1 + 10 * 3 + 100 * 2);

    SZ_LIST_FOREACH_SAFE(pos, tmp, &other)
    sz_list_remove(pos);
    assert_true(sz_list_empty(&other));
}

static void test_buf(void **state)
{
    struct sz_buf b;
    char *s;
    size_t len;
    (void)state;

    sz_buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sz_buf_append(&b, "abc", 3), 0);
    assert_int_equal(b.len, 3000);
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(sz_buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(b.data + 3000, "42-x");
    sz_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    sz_buf_free(&b);

    sz_buf_init(&b, 8);
    assert_int_equal(sz_buf_puts(&b, "12345678"), 0);
    assert_int_equal(sz_buf_append(&b, "9", 1), SZ_ETOOBIG);
    assert_int_equal(sz_buf_printf(&b, "%s", "x"), SZ_ETOOBIG);
    assert_string_equal(b.data, "12345678"); /* nothing appended on failure */
    s = sz_buf_steal(&b, &len);
    assert_string_equal(s, "12345678");
    assert_int_equal(len, 8);
    assert_null(b.data);
    free(s);

    s = sz_buf_steal(&b, &len); /* empty: "" rather than NULL */
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
}

static void test_parse(void **state)
{
    long long n = 7;
    unsigned long long u = 7;
    double d = 0;
    char err[128];
    (void)state;

    assert_int_equal(sz_parse_ll("42", 0, 100, &n), 0);
    assert_int_equal(n, 42);
    assert_int_equal(sz_parse_ll("-5", -10, 10, &n), 0);
    assert_int_equal(n, -5);
    static const char *const bad[] = {
        "", " 1", "1 ", "1x", "0x10", "+1", "--1", "1e3", "101", "-11", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 7;
        assert_int_equal(sz_parse_ll(bad[i], -10, 100, &n), SZ_EINVAL);
        assert_int_equal(n, 7);
    }
    assert_int_equal(sz_parse_ll(NULL, 0, 1, &n), SZ_EINVAL);

    assert_int_equal(sz_parse_ull("18446744073709551615", 0, UINT64_MAX, &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(sz_parse_ull("-1", 0, UINT64_MAX, &u), SZ_EINVAL);
    assert_int_equal(sz_parse_ull("+1", 0, UINT64_MAX, &u), SZ_EINVAL);

    assert_int_equal(sz_parse_decimal("1.5", &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(sz_parse_decimal("20", &d), 0);
    assert_true(d == 20.0);
    assert_int_equal(sz_parse_decimal("1e3", &d), SZ_EINVAL);
    assert_int_equal(sz_parse_decimal("nan", &d), SZ_EINVAL);
    assert_int_equal(sz_parse_decimal("-1", &d), SZ_EINVAL);
    assert_int_equal(sz_parse_decimal("1.", &d), 0);

    n = 3;
    assert_int_equal(sz_parse_setting("X", NULL, 0, 9, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_int_equal(sz_parse_setting("X", "", 0, 9, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_int_equal(sz_parse_setting("X", "two", 0, 9, &n, err, sizeof(err)), SZ_EINVAL);
    assert_string_equal(err, "X must be an integer from 0 to 9, got 'two'");
    assert_int_equal(sz_parse_setting("X", "8", 0, 9, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
