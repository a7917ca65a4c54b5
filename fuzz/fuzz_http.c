/* The HTTP door's request rules (transport/http_int.h) on hostile header
 * values: Accept, Host, Origin (with an extra allowed origin), Authorization
 * against a token, Last-Event-ID and MCP-Protocol-Version, and the decoding of
 * a header that mirrors a body value (Mcp-Name, Mcp-Param-*: "=?base64?…?=" or
 * plain). Fields are the input's lines, in that order; the ninth is also
 * decoded as such a header. Beyond "no crash": a decoded value is
 * NUL-terminated at its length and never longer than the header's text. */
#include "fmacros.h"

#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "transport/http_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *f[9];
    char *copy = fuzz_fields(data, size, '\n', f, 9);
    uint64_t stream = 0, seq = 0;
    char *decoded = NULL;
    size_t dlen = 0;
    int rc;

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
    for (int i = 7; i <= 8; i++) {
        rc = http_header_decode(f[i], &decoded, &dlen);
        if (rc == 0 && (decoded == NULL || decoded[dlen] != '\0' || dlen > strlen(f[i])))
            abort();
        if (rc != 0 && (decoded != NULL || (rc != SZ_EINVAL && rc != SZ_ENOMEM)))
            abort();
        free(decoded);
        decoded = NULL;
    }
    free(copy);
    return 0;
}
