/* What an upstream (OpenAI or a gateway) sends back that we parse as text:
 * error bodies (JSON or not) turned into the user's sentence, the summary of
 * arbitrary bytes, Retry-After / Retry-After-Ms / x-should-retry headers
 * with HTTP dates, and ids echoed into URL paths. The first two bytes give
 * the HTTP status; the rest is split at NUL into body and header values. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openai/client.h"
#include "openai/retry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[5];
    char *copy;
    char msg[512], code[64], summary[64 * 4 + 4];
    long status = 200, delay = 0;
    time_t t;

    if (size >= 2) {
        status = 100 + (long)((data[0] << 8 | data[1]) % 500);
        data += 2;
        size -= 2;
    }
    /* The whole rest as a body, NUL bytes included. */
    oai_error_message(status, (const char *)data, size, msg, sizeof msg, code, sizeof code);
    oai_summarize((const char *)data, size, 64, summary, sizeof summary);
    copy = fuzz_fields(data, size, '\0', f, 5);
    if (copy == NULL)
        return 0;
    (void)oai_parse_http_date(f[1], &t);
    for (int retries = 0; retries < 3; retries++) {
        struct oai_retry_in in = {.status = status,
                                  .should_retry = *f[2] ? f[2] : NULL,
                                  .retry_after_ms = *f[3] ? f[3] : NULL,
                                  .retry_after = *f[1] ? f[1] : NULL,
                                  .retries_done = retries,
                                  .max_retries = 2};
        if (oai_retry_decide(&in, &delay) && (delay < 0 || delay > 60000 + 1))
            abort(); /* the contract: a retry waits at most 60 s */
    }
    (void)oai_check_id(f[4]);
    free(copy);
    return 0;
}
