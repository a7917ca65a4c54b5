/* The field splitter shared by the drivers (fuzz.h). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

char *fuzz_fields(const uint8_t *data, size_t size, char sep, char **fields, size_t n)
{
    char *copy = malloc(size + 1);
    size_t k = 0;

    if (copy == NULL)
        return NULL;
    if (size > 0)
        memcpy(copy, data, size);
    copy[size] = '\0';
    if (n == 0)
        return copy;
    fields[k++] = copy;
    for (size_t i = 0; i < size && k < n; i++) {
        if (copy[i] == sep) {
            copy[i] = '\0';
            fields[k++] = copy + i + 1;
        }
    }
    while (k < n)
        fields[k++] = copy + size;
    return copy;
}
