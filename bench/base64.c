/* Base64 on the download_image path: our codec (src/core/base64.c) against
 * OpenSSL's, on 8 MiB of random bytes (11.2 MB of base64, a large generated
 * image). Prints the best of N runs per function; every result is checked
 * against the input. The figures and the choice they led to are in
 * src/core/base64.h.
 *
 *   cc -O2 -std=c17 -Isrc bench/base64.c src/core/base64.c -lcrypto -o /tmp/b64bench
 *   /tmp/b64bench 30              # wall time, best of 30
 *   valgrind --tool=callgrind /tmp/b64bench 1 ours-dec   # instruction counts
 *
 * Modes: all, ours-enc, ossl-enc, ours-dec, ossl-dec, ossl-dblk, none (setup
 * only, to subtract from a callgrind total). Until 1ca7db0 sz_b64_encode was
 * a table-driven encoder of our own; build this against that commit's
 * base64.c to compare it. */
#include "fmacros.h"

#include "core/base64.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIZE ((size_t)8 << 20)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(const char *what, double best)
{
    printf("%-28s %7.2f ms  %6.0f MB/s of raw bytes\n", what, best * 1e3,
           (double)SIZE / best / 1e6);
}

static int run(const char *mode, const char *only, int reps, const uint8_t *raw, const char *enc,
               size_t elen, char *scratch, uint8_t *dec)
{
    double best = 1e9;

    if (strcmp(only, "all") != 0 && strcmp(only, mode) != 0)
        return 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now(), d;
        size_t n = 0;
        if (strcmp(mode, "ours-enc") == 0) {
            n = sz_b64_encode(raw, SIZE, scratch);
        } else if (strcmp(mode, "ossl-enc") == 0) {
            n = (size_t)EVP_EncodeBlock((unsigned char *)scratch, raw, (int)SIZE);
        } else if (strcmp(mode, "ours-dec") == 0) {
            if (sz_b64_decode(enc, elen, dec, &n) != 0)
                return 1;
        } else if (strcmp(mode, "ossl-dec") == 0) {
            EVP_ENCODE_CTX *c = EVP_ENCODE_CTX_new();
            int o1 = 0, o2 = 0;
            EVP_DecodeInit(c);
            if (EVP_DecodeUpdate(c, dec, &o1, (const unsigned char *)enc, (int)elen) < 0 ||
                EVP_DecodeFinal(c, dec + o1, &o2) < 0)
                return 1;
            EVP_ENCODE_CTX_free(c);
            n = (size_t)(o1 + o2);
        } else { /* ossl-dblk: keeps the padding's zero bytes, so n >= SIZE */
            n = (size_t)EVP_DecodeBlock(dec, (const unsigned char *)enc, (int)elen);
        }
        d = now() - t0;
        if (d < best)
            best = d;
        if (strstr(mode, "enc") != NULL ? (n != elen || memcmp(scratch, enc, elen) != 0)
                                        : (n < SIZE || memcmp(dec, raw, SIZE) != 0))
            return 1;
    }
    report(mode, best);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const modes[] = {"ours-enc", "ossl-enc", "ours-dec", "ossl-dec",
                                        "ossl-dblk"};
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    const char *only = argc > 2 ? argv[2] : "all";
    size_t elen = sz_b64_encoded_len(SIZE);
    uint8_t *raw = malloc(SIZE), *dec = malloc(SIZE + 64);
    char *enc = malloc(elen + 1), *scratch = malloc(elen + 1);
    uint32_t x = 12345;
    int rc = 0;

    if (raw == NULL || dec == NULL || enc == NULL || scratch == NULL)
        return 1;
    for (size_t i = 0; i < SIZE; i++) {
        x = x * 1103515245u + 12345u;
        raw[i] = (uint8_t)(x >> 16);
    }
    EVP_EncodeBlock((unsigned char *)enc, raw, (int)SIZE);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]) && rc == 0; i++)
        rc = run(modes[i], only, reps, raw, enc, elen, scratch, dec);
    if (rc != 0)
        fprintf(stderr, "b64bench: a result did not match its input\n");
    free(raw);
    free(dec);
    free(enc);
    free(scratch);
    return rc;
}
