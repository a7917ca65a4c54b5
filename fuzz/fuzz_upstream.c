/* What an upstream (OpenAI or a gateway) sends back that we parse as text:
 * error bodies (JSON or not) turned into the user's sentence, the summary of
 * arbitrary bytes, Retry-After / Retry-After-Ms / x-should-retry headers
 * with HTTP dates, and ids echoed into URL paths. The first two bytes give
 * the HTTP status; the rest is the body, and split at NUL into an id,
 * Retry-After, x-should-retry and Retry-After-Ms. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/client.h"
#include "net/retry.h"
#include "openai/client.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[4];
    char *copy;
    char msg[512], code[64], summary[64 * 4 + 4];
    long status = 200, delay = 0;

    if (size >= 2) {
        status = 100 + (long)((data[0] << 8 | data[1]) % 500);
        data += 2;
        size -= 2;
    }
    /* The whole rest as a body, NUL bytes included. */
    oai_error_message(status, (const char *)data, size, msg, sizeof msg, code, sizeof code);
    net_summarize((const char *)data, size, 64, summary, sizeof summary);
    copy = fuzz_fields(data, size, '\0', f, 4);
    if (copy == NULL)
        return 0;
    for (int retries = 0; retries < 3; retries++) {
        struct net_retry_in in = {.status = status,
                                  .should_retry = *f[2] ? f[2] : NULL,
                                  .retry_after_ms = *f[3] ? f[3] : NULL,
                                  .retry_after = *f[1] ? f[1] : NULL,
                                  .retries_done = retries,
                                  .max_retries = 2,
                                  .random = 0.5,
                                  .now = 1767225600}; /* 2026-01-01 */
        if (net_retry_decide(&in, &delay) && (delay < 0 || delay > 60000 + 1))
            abort(); /* the contract: a retry waits at most 60 s */
    }
    (void)oai_check_id(f[0]);
    free(copy);
    return 0;
}
