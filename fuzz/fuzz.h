/* Shared by the libFuzzer drivers in fuzz/: the entry points libFuzzer calls
 * (declared here so -Wmissing-prototypes holds) and a splitter that turns one
 * input into several NUL-terminated fields.
 *
 * Each driver feeds what another party sends (a client, an upstream server, a
 * file on disk) to the code that parses it; a crash, a sanitizer report or a
 * leak is a finding. `make fuzz` runs them (docs/reliability.md). */
#ifndef SZ_FUZZ_H
#define SZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies data (size bytes) and cuts the copy at each sep into at most n
 * NUL-terminated fields; fields beyond the input are "". Returns the copy
 * (owned by the caller, free() it; the fields point into it), or NULL when
 * out of memory. */
char *fuzz_fields(const uint8_t *data, size_t size, char sep, char **fields, size_t n);

#endif
