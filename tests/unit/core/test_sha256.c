/* Unit tests for the SHA-256 wrapper: FIPS 180-2 vectors, incremental
 * updates in odd-sized pieces, and context lifecycle errors. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/sha256.h"

static void test_known_vectors(void **state)
{
    char hex[SZ_SHA256_HEX_LEN + 1];
    (void)state;

    assert_int_equal(sz_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(sz_sha256_hex(NULL, 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(sz_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    {
        const char *s = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_int_equal(sz_sha256_hex(s, strlen(s), hex), 0);
        assert_string_equal(hex,
                            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
}

static void test_million_a_incremental(void **state)
{
    struct sz_sha256 h;
    char hex[SZ_SHA256_HEX_LEN + 1];
    char chunk[997];
    size_t left = 1000000;
    (void)state;

    memset(chunk, 'a', sizeof chunk);
    assert_int_equal(sz_sha256_init(&h), 0);
    /* Prime-sized pieces cross every block boundary differently. */
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        assert_int_equal(sz_sha256_update(&h, chunk, n), 0);
        left -= n;
    }
    assert_int_equal(sz_sha256_update(&h, NULL, 0), 0);
    assert_int_equal(sz_sha256_final_hex(&h, hex), 0);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_lifecycle(void **state)
{
    struct sz_sha256 h = {0};
    char hex[SZ_SHA256_HEX_LEN + 1];
    (void)state;

    /* Unused contexts are refused, not crashed on. */
    assert_int_equal(sz_sha256_update(&h, "x", 1), SZ_EINVAL);
    assert_int_equal(sz_sha256_final_hex(&h, hex), SZ_EINVAL);
    sz_sha256_discard(&h);

    /* After final the context is released; using it again is refused. */
    assert_int_equal(sz_sha256_init(&h), 0);
    assert_int_equal(sz_sha256_update(&h, "abc", 3), 0);
    assert_int_equal(sz_sha256_final_hex(&h, hex), 0);
    assert_null(h.ctx);
    assert_int_equal(sz_sha256_update(&h, "x", 1), SZ_EINVAL);
    sz_sha256_discard(&h);

    /* Discarding a started context releases it (ASan checks the leak). */
    assert_int_equal(sz_sha256_init(&h), 0);
    assert_int_equal(sz_sha256_update(&h, "abc", 3), 0);
    sz_sha256_discard(&h);
    assert_null(h.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_million_a_incremental),
        cmocka_unit_test(test_lifecycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
