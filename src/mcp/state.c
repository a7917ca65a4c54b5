/* Sealed requestState for multi round-trip requests (MCP 2026-07-28,
 * basic/patterns/mrtr.mdx). The state travels through the client, which may
 * alter it, so it is integrity-protected: base64(JSON) "." base64(HMAC-SHA-256
 * of the first part under the server's key). The JSON binds the payload to
 * the request it was issued for (method, tool/prompt name or resource URI,
 * and a SHA-256 of the arguments) and to an expiry in wall-clock
 * milliseconds, so state is refused when it was altered, when it expired, or
 * when it is presented on another request. Wall-clock time because another
 * instance behind the same load balancer (sharing the key) may open it. */
#include "fmacros.h"

#include "mcp/mcp_int.h"
#include "core/base64.h"
#include "core/err.h"
#include "core/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAC_LEN     32
#define SEALED_MAX  (64u * 1024u) /* a sealed string longer than this is refused unread */
#define MAC_B64_LEN 44            /* base64 of 32 bytes */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What a payload is bound to: the tool or prompt name (or resource URI) and
 * the digest of the arguments, as canonical JSON (sorted keys, compact). */
static int binding(const json_t *params, const char **ptarget, char digest[SZ_SHA256_HEX_LEN + 1])
{
    const json_t *target = json_object_get(params, "name");
    const json_t *args = json_object_get(params, "arguments");
    char *canon;
    int rc;

    if (target == NULL)
        target = json_object_get(params, "uri");
    *ptarget = json_is_string(target) ? json_string_value(target) : "";
    canon = json_dumps(args != NULL ? args : json_null(),
                       JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (canon == NULL)
        return SZ_ENOMEM;
    rc = sz_sha256_hex(canon, strlen(canon), digest);
    free(canon);
    return rc;
}

static int mac_of(const struct mcp_server *server, const char *text, size_t len,
                  unsigned char mac[MAC_LEN])
{
    unsigned int n = 0;

    if (HMAC(EVP_sha256(), server->state_key, (int)sizeof(server->state_key),
             (const unsigned char *)text, len, mac, &n) == NULL ||
        n != MAC_LEN)
        return SZ_EIO;
    return 0;
}

static bool field_is(const json_t *body, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(body, key));
    return v != NULL && strcmp(v, want) == 0;
}

char *mcp_state_seal(const struct mcp_server *server, const char *method, const json_t *params,
                     const json_t *payload)
{
    char digest[SZ_SHA256_HEX_LEN + 1];
    unsigned char mac[MAC_LEN];
    const char *target;
    json_t *body = NULL;
    char *text = NULL, *b64 = NULL, *sealed = NULL;
    size_t b64len = 0;

    if (binding(params, &target, digest) != 0)
        goto out;
    body = json_pack("{s:s, s:s, s:s, s:I, s:O}", "m", method, "t", target, "d", digest, "x",
                     (json_int_t)(now_ms() + server->state_ttl_ms), "p",
                     payload != NULL ? payload : json_null());
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (text == NULL || sz_b64_encode_alloc(text, strlen(text), &b64, &b64len) != 0 ||
        mac_of(server, b64, b64len, mac) != 0)
        goto out;
    sealed = malloc(b64len + 1 + MAC_B64_LEN + 1);
    if (sealed == NULL)
        goto out;
    memcpy(sealed, b64, b64len);
    sealed[b64len] = '.';
    sz_b64_encode(mac, MAC_LEN, sealed + b64len + 1);
    sealed[b64len + 1 + MAC_B64_LEN] = '\0';
out:
    json_decref(body);
    free(text);
    free(b64);
    return sealed;
}

int mcp_state_open(const struct mcp_server *server, const char *method, const json_t *params,
                   const char *sealed, json_t **ppayload, char *why, size_t whylen)
{
    size_t len = strnlen(sealed, SEALED_MAX + 1);
    const char *dot = memchr(sealed, '.', len);
    unsigned char mac[MAC_LEN], given[MAC_LEN + 3];
    size_t given_len = 0, textlen = 0;
    uint8_t *text = NULL;
    json_t *body = NULL;
    char digest[SZ_SHA256_HEX_LEN + 1];
    const char *target;
    int rc = SZ_EINVAL;

    *ppayload = NULL;
    if (len > SEALED_MAX || dot == NULL || (size_t)(sealed + len - dot - 1) != MAC_B64_LEN ||
        sz_b64_decode(dot + 1, MAC_B64_LEN, given, &given_len) != 0 || given_len != MAC_LEN) {
        snprintf(why, whylen, "it is not a requestState this server issued (malformed)");
        goto out;
    }
    if (mac_of(server, sealed, (size_t)(dot - sealed), mac) != 0) {
        snprintf(why, whylen, "it could not be verified");
        goto out;
    }
    if (CRYPTO_memcmp(mac, given, MAC_LEN) != 0) {
        snprintf(why, whylen,
                 "its integrity check failed (it was altered, or sealed by a server "
                 "with another key)");
        goto out;
    }
    /* Authentic from here on: what follows only checks what we wrote. */
    if (sz_b64_decode_alloc(sealed, (size_t)(dot - sealed), &text, &textlen) != 0 ||
        (body = json_loadb((const char *)text, textlen, 0, NULL)) == NULL) {
        snprintf(why, whylen, "it is malformed");
        goto out;
    }
    if ((uint64_t)json_integer_value(json_object_get(body, "x")) < now_ms()) {
        snprintf(why, whylen, "it expired; send the request again without it");
        goto out;
    }
    if (binding(params, &target, digest) != 0) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (!field_is(body, "m", method) || !field_is(body, "t", target) ||
        !field_is(body, "d", digest)) {
        snprintf(why, whylen,
                 "it was issued for another request (a different method, name or "
                 "arguments)");
        goto out;
    }
    *ppayload = json_incref(json_object_get(body, "p"));
    rc = 0;
out:
    json_decref(body);
    free(text);
    return rc;
}
