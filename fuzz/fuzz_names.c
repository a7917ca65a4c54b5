/* Names from clients: every filename goes through store_check_name (and an
 * extension check), list filters through store_check_pattern and
 * store_glob_match. Fields are the input's lines: name, pattern, candidate. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static const char *const exts[] = {"png", "jpg", "jpeg", "webp", NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[3];
    char *copy = fuzz_fields(data, size, '\n', f, 3);
    char err[512], ext[32];
    size_t nlen, plen;

    if (copy == NULL)
        return 0;
    nlen = strlen(f[0]);
    plen = strlen(f[1]);
    if (store_check_name(f[0], nlen, err, sizeof err) == 0) {
        /* An accepted name never climbs out or hides in a directory. */
        if (strchr(f[0], '/') != NULL || strcmp(f[0], "..") == 0 || strcmp(f[0], ".") == 0)
            abort();
    }
    (void)store_name_ext(f[0], nlen, ext, sizeof ext);
    (void)store_check_ext(f[0], nlen, exts, "PNG, JPEG or WEBP", err, sizeof err);
    (void)store_mime_type(f[0], nlen);
    if (store_check_pattern(f[1], plen, err, sizeof err) == 0)
        (void)store_glob_match(f[1], plen, f[2], strlen(f[2]), true);
    /* The raw bytes too: names arrive with their length, NULs and all. */
    (void)store_check_name((const char *)data, size, err, sizeof err);
    free(copy);
    return 0;
}
