/* The HTTP door's request rules (transport/http_int.h) on hostile header
 * values: Accept, Host, Origin (with an extra allowed origin), Authorization
 * against a token, Last-Event-ID and MCP-Protocol-Version. Fields are the
 * input's lines, in that order. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>

#include "transport/http_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[8];
    char *copy = fuzz_fields(data, size, '\n', f, 8);
    uint64_t stream = 0, seq = 0;

    if (copy == NULL)
        return 0;
    (void)http_accepts(f[0], "application/json");
    (void)http_accepts(f[0], "text/event-stream");
    (void)http_accepts(f[0], f[1]);
    (void)http_host_is_loopback(f[2]);
    (void)http_origin_allowed(f[3], NULL);
    (void)http_origin_allowed(f[3], f[4]);
    (void)http_bearer_ok(f[5], "s3cret-token");
    (void)http_bearer_ok(f[5], f[6]);
    (void)http_parse_event_id(f[7], &stream, &seq);
    (void)http_protocol_version_supported(f[7]);
    free(copy);
    return 0;
}
