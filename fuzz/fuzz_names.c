/* Names from clients: every filename goes through store_check_name (and an
 * extension check), list filters through store_check_pattern and
 * store_glob_match, the audio tools' relative paths into subdirectories through
 * store_check_path. Fields are the input's lines: name, pattern, candidate, path.
 *
 * Beyond not crashing, an accepted path must be what the sandbox expects: no
 * leading '/', no empty component, every component a name store_check_name
 * accepts (so no "..", ".", hidden or control-character component), at most
 * STORE_PATH_MAX bytes; and a path of one component is accepted exactly when
 * it is accepted as a name. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static const char *const exts[] = {"png", "jpg", "jpeg", "webp", NULL};

/* Checks what store_check_path said of path (len bytes) against its rules;
 * aborts on a disagreement, which libFuzzer reports with the input. */
static void check_path(const char *path, size_t len)
{
    char err[512];
    int rc = store_check_path(path, len, err, sizeof err);
    size_t start = 0;

    if (len > 0 && memchr(path, '/', len) == NULL) {
        if ((rc == 0) != (store_check_name(path, len, NULL, 0) == 0))
            abort();
        return;
    }
    if (rc != 0)
        return;
    if (len == 0 || len > STORE_PATH_MAX || path[0] == '/' || memchr(path, '\0', len) != NULL)
        abort();
    while (start <= len) {
        const char *slash = memchr(path + start, '/', len - start);
        size_t end = slash != NULL ? (size_t)(slash - path) : len;

        if (store_check_name(path + start, end - start, NULL, 0) != 0)
            abort();
        start = end + 1;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[4];
    char *copy = fuzz_fields(data, size, '\n', f, 4);
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
    check_path(f[0], nlen);
    check_path(f[3], strlen(f[3]));
    /* The raw bytes too: names arrive with their length, NULs and all. */
    (void)store_check_name((const char *)data, size, err, sizeof err);
    check_path((const char *)data, size);
    free(copy);
    return 0;
}
