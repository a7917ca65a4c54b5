/* Unit tests for the base64 codec: RFC 4648 vectors, round trips over every
 * length 0..300 with random bytes, whitespace tolerance, padding variants and
 * invalid input. */
#include "fmacros.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base64.h"
#include "core/err.h"

/* Decodes s and compares with want (or expects rc). */
static void check_decode(const char *s, int want_rc, const char *want)
{
    size_t n = strlen(s);
    uint8_t *out = NULL;
    size_t len = 12345;
    int rc = sz_b64_decode_alloc(s, n, &out, &len);

    assert_int_equal(rc, want_rc);
    if (want_rc == 0) {
        assert_non_null(out);
        assert_true(len <= sz_b64_decoded_maxlen(n));
        assert_int_equal(len, strlen(want));
        assert_memory_equal(out, want, len);
    } else {
        assert_null(out);
    }
    free(out);
}

static void test_rfc4648_vectors(void **state)
{
    static const char *const vec[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        char buf[64];
        size_t n = strlen(vec[i][0]);
        assert_int_equal(sz_b64_encoded_len(n), strlen(vec[i][1]));
        assert_int_equal(sz_b64_encode(vec[i][0], n, buf), strlen(vec[i][1]));
        assert_string_equal(buf, vec[i][1]);
        check_decode(vec[i][1], 0, vec[i][0]);
    }
}

static void test_all_byte_values(void **state)
{
    uint8_t in[256];
    char enc[400];
    uint8_t dec[300];
    size_t len = 0;
    (void)state;

    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    sz_b64_encode(in, sizeof in, enc);
    /* "+" and "/" must appear: 0xfb 0xff encodes to "+/". */
    assert_non_null(strchr(enc, '+'));
    assert_non_null(strchr(enc, '/'));
    assert_int_equal(sz_b64_decode(enc, strlen(enc), dec, &len), 0);
    assert_int_equal(len, sizeof in);
    assert_memory_equal(dec, in, sizeof in);
}

static void test_round_trip_random(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    (void)state;

    for (size_t n = 0; n <= 300; n++) {
        uint8_t *in = malloc(n ? n : 1);
        char *enc = NULL;
        size_t enclen = 0, declen = 0;
        uint8_t *dec = NULL;

        assert_non_null(in);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            in[i] = (uint8_t)(x >> 32);
        }
        assert_int_equal(sz_b64_encode_alloc(in, n, &enc, &enclen), 0);
        assert_int_equal(enclen, (n + 2) / 3 * 4);
        assert_int_equal(strlen(enc), enclen);
        assert_int_equal(sz_b64_decode_alloc(enc, enclen, &dec, &declen), 0);
        assert_int_equal(declen, n);
        assert_memory_equal(dec, in, n);
        free(dec);

        /* The same data wrapped at 76 columns with CRLF (MIME style) and
         * with stray spaces and tabs must decode identically. */
        {
            char *wrapped = malloc(enclen * 2 + 8);
            size_t w = 0;
            assert_non_null(wrapped);
            for (size_t i = 0; i < enclen; i++) {
                if (i > 0 && i % 76 == 0) {
                    wrapped[w++] = '\r';
                    wrapped[w++] = '\n';
                }
                if (i % 7 == 3)
                    wrapped[w++] = (i % 2) ? ' ' : '\t';
                wrapped[w++] = enc[i];
            }
            wrapped[w++] = '\n';
            assert_int_equal(sz_b64_decode_alloc(wrapped, w, &dec, &declen), 0);
            assert_int_equal(declen, n);
            assert_memory_equal(dec, in, n);
            assert_true(declen <= sz_b64_decoded_maxlen(w));
            free(dec);
            free(wrapped);
        }

        /* Unpadded form decodes too, and the bound is exact for it. */
        {
            size_t un = enclen;
            while (un > 0 && enc[un - 1] == '=')
                un--;
            assert_int_equal(sz_b64_decode_alloc(enc, un, &dec, &declen), 0);
            assert_int_equal(declen, n);
            assert_int_equal(sz_b64_decoded_maxlen(un), n);
            assert_memory_equal(dec, in, n);
            free(dec);
        }
        free(enc);
        free(in);
    }
}

static void test_whitespace(void **state)
{
    (void)state;
    check_decode("Zm9v\nYmFy\n", 0, "foobar");
    check_decode("  Zm9vYmFy  ", 0, "foobar");
    check_decode("Z m 9 v\r\nY\tm\fF\vy", 0, "foobar");
    check_decode("Zg=\n=", 0, "f");
    check_decode("Zg==\r\n", 0, "f");
    check_decode(" \n\t ", 0, "");
}

static void test_padding_variants(void **state)
{
    (void)state;
    /* Correct padding and no padding are both fine. */
    check_decode("Zg==", 0, "f");
    check_decode("Zg", 0, "f");
    check_decode("Zm8=", 0, "fo");
    check_decode("Zm8", 0, "fo");
    check_decode("Zm9vYg", 0, "foob");
    /* Wrong amount of padding. */
    check_decode("Zg=", SZ_ECORRUPT, NULL);
    check_decode("Zg===", SZ_ECORRUPT, NULL);
    check_decode("Zm8==", SZ_ECORRUPT, NULL);
    check_decode("Zm9v=", SZ_ECORRUPT, NULL);
    check_decode("Zm9v====", SZ_ECORRUPT, NULL);
    check_decode("=", SZ_ECORRUPT, NULL);
    check_decode("==", SZ_ECORRUPT, NULL);
    check_decode("====", SZ_ECORRUPT, NULL);
    /* A lone final character carries fewer than 8 bits. */
    check_decode("Z", SZ_ECORRUPT, NULL);
    check_decode("Zm9vY", SZ_ECORRUPT, NULL);
    check_decode("Zm9vY===", SZ_ECORRUPT, NULL);
    /* Padding in the middle, or data after the padding. */
    check_decode("Zg==Zg==", SZ_ECORRUPT, NULL);
    check_decode("Zm=8", SZ_ECORRUPT, NULL);
    check_decode("Zg==x", SZ_ECORRUPT, NULL);
}

static void test_invalid_characters(void **state)
{
    static const char *const bad[] = {
        "Zm9v!mFy", "Zm9v-mFy", "Zm9v_mFy", "Zm9vYm.y", "Zm9vYmF\x80", "Zm9v\x01YmFy", "é",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check_decode(bad[i], SZ_ECORRUPT, NULL);
    /* An embedded NUL is not whitespace. */
    {
        uint8_t out[8];
        size_t len;
        assert_int_equal(sz_b64_decode("Zm9v\0YmFy", 9, out, &len), SZ_ECORRUPT);
        /* ...but a length that stops before it is honoured. */
        assert_int_equal(sz_b64_decode("Zm9v\0YmFy", 4, out, &len), 0);
        assert_int_equal(len, 3);
        assert_memory_equal(out, "foo", 3);
    }
}

static void test_decoded_maxlen(void **state)
{
    (void)state;
    assert_int_equal(sz_b64_decoded_maxlen(0), 0);
    assert_int_equal(sz_b64_decoded_maxlen(1), 0);
    assert_int_equal(sz_b64_decoded_maxlen(2), 1);
    assert_int_equal(sz_b64_decoded_maxlen(3), 2);
    assert_int_equal(sz_b64_decoded_maxlen(4), 3);
    assert_int_equal(sz_b64_decoded_maxlen(8), 6);
    /* No overflow near SIZE_MAX. */
    assert_true(sz_b64_decoded_maxlen(SIZE_MAX) < SIZE_MAX);
    assert_true(sz_b64_decoded_maxlen(SIZE_MAX) > SIZE_MAX / 4 * 2);
    assert_int_equal(sz_b64_encoded_len(SIZE_MAX), 0);
    assert_int_equal(sz_b64_encoded_len(SIZE_MAX / 4 * 3 - 3), (SIZE_MAX / 4 * 3 - 3) / 3 * 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),   cmocka_unit_test(test_all_byte_values),
        cmocka_unit_test(test_round_trip_random), cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_padding_variants),  cmocka_unit_test(test_invalid_characters),
        cmocka_unit_test(test_decoded_maxlen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
