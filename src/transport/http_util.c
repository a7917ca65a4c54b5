/* Header helpers of the HTTP transport: Accept matching, Host and Origin checks, bearer
 * token comparison, session and event ids. Pure functions of their arguments (apart from
 * getrandom, and the engine's list of protocol versions), so the unit tests can pin every
 * rule down. */
#include "fmacros.h"

#include "transport/http_int.h"
#include "core/base64.h"
#include "core/err.h"
#include "mcp/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims [*pb, *pe) of spaces on both sides. */
static void trim(const char **pb, const char **pe)
{
    while (*pb < *pe && is_space(**pb))
        (*pb)++;
    while (*pe > *pb && is_space((*pe)[-1]))
        (*pe)--;
}

static bool span_eq(const char *b, const char *e, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(e - b) == n && strncasecmp(b, s, n) == 0;
}

/* True when the parameters of one media range ("; q=0.5; x=y") carry q=0. */
static bool q_is_zero(const char *b, const char *e)
{
    while (b < e) {
        const char *semi = memchr(b, ';', (size_t)(e - b));
        const char *pe = semi ? semi : e;
        const char *pb = b;
        trim(&pb, &pe);
        if (pe - pb >= 2 && (pb[0] == 'q' || pb[0] == 'Q') && pb[1] == '=') {
            double q = strtod(pb + 2, NULL);
            if (q <= 0.0)
                return true;
        }
        if (semi == NULL)
            break;
        b = semi + 1;
    }
    return false;
}

bool http_accepts(const char *accept, const char *type)
{
    const char *slash = strchr(type, '/');
    const char *p = accept;

    if (accept == NULL || slash == NULL)
        return false;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *mb = p;
        const char *me = semi ? semi : end;
        trim(&mb, &me);
        if (!(semi && q_is_zero(semi + 1, end))) {
            const char *ms = memchr(mb, '/', (size_t)(me - mb));
            if (ms != NULL) {
                bool main_ok =
                    span_eq(mb, ms, "*") || ((size_t)(ms - mb) == (size_t)(slash - type) &&
                                             strncasecmp(mb, type, (size_t)(slash - type)) == 0);
                bool sub_ok = span_eq(ms + 1, me, "*") || span_eq(ms + 1, me, slash + 1);
                if (main_ok && sub_ok)
                    return true;
            }
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return false;
}

/* Splits "name", "name:port" or "[v6]:port" into the name (without brackets). Returns
 * false when the form is broken or the name does not fit. */
static bool host_name(const char *host, size_t hlen, char *out, size_t outlen)
{
    const char *b = host;
    const char *e = host + hlen;
    if (b < e && *b == '[') {
        const char *close = memchr(b, ']', (size_t)(e - b));
        if (close == NULL)
            return false;
        if (close + 1 != e && close[1] != ':')
            return false;
        b++;
        e = close;
    } else {
        const char *colon = memchr(b, ':', (size_t)(e - b));
        if (colon != NULL) {
            if (memchr(colon + 1, ':', (size_t)(e - colon - 1)) != NULL)
                return false; /* an unbracketed IPv6 literal is not a Host */
            e = colon;
        }
    }
    if (e <= b || (size_t)(e - b) >= outlen)
        return false;
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = '\0';
    return true;
}

static bool name_is_loopback(const char *name)
{
    size_t n = strlen(name);
    struct in_addr a4;
    struct in6_addr a6;

    if (n > 0 && name[n - 1] == '.') /* "localhost." is the same name */
        n--;
    if ((n == 9 && strncasecmp(name, "localhost", 9) == 0) ||
        (n > 10 && strncasecmp(name + n - 10, ".localhost", 10) == 0))
        return true;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, name, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

bool http_host_is_loopback(const char *host)
{
    char name[256];
    if (host == NULL || !host_name(host, strlen(host), name, sizeof(name)))
        return false;
    return name_is_loopback(name);
}

bool http_origin_allowed(const char *origin, const char *extra)
{
    const char *rest = NULL;
    char name[256];

    if (origin == NULL)
        return false;
    if (strncasecmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    if (rest != NULL && strchr(rest, '/') == NULL &&
        host_name(rest, strlen(rest), name, sizeof(name))) {
        /* Only the three names the issue lists, not every loopback spelling. */
        if (strcasecmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0 ||
            strcmp(name, "::1") == 0)
            return true;
    }
    for (const char *p = extra; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        const char *b = p;
        const char *e = comma ? comma : p + strlen(p);
        trim(&b, &e);
        while (e > b && e[-1] == '/')
            e--;
        if (span_eq(b, e, "*") || (e > b && span_eq(b, e, origin)))
            return true;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return false;
}

static bool sha256(const char *s, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    return EVP_Digest(s, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32;
}

bool http_bearer_ok(const char *authorization, const char *token)
{
    unsigned char a[32];
    unsigned char b[32];
    const char *p;

    if (authorization == NULL || token == NULL)
        return false;
    p = authorization;
    while (is_space(*p))
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || !is_space(p[6]))
        return false;
    p += 6;
    while (is_space(*p))
        p++;
    if (!sha256(p, strlen(p), a) || !sha256(token, strlen(token), b))
        return false;
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

int http_session_id_new(char out[HTTP_SID_LEN + 1])
{
    unsigned char raw[HTTP_SID_LEN / 2];
    size_t got = 0;
    static const char hex[] = "0123456789abcdef";

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[HTTP_SID_LEN] = '\0';
    return 0;
}

static bool parse_u64(const char *b, const char *e, uint64_t *out)
{
    uint64_t v = 0;
    if (b == e || e - b > 19)
        return false;
    for (const char *p = b; p < e; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return true;
}

bool http_parse_event_id(const char *s, uint64_t *pstream, uint64_t *pseq)
{
    const char *dash;
    if (s == NULL)
        return false;
    dash = strchr(s, '-');
    if (dash == NULL)
        return false;
    return parse_u64(s, dash, pstream) && parse_u64(dash + 1, dash + 1 + strlen(dash + 1), pseq);
}

bool http_protocol_version_supported(const char *version)
{
    return mcp_protocol_version_supported(version); /* one list, the engine's */
}

bool http_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

/* RFC 9110 field values: visible ASCII, space and tab. */
static bool field_char_ok(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c <= 0x7e);
}

int http_header_decode(const char *raw, char **pout, size_t *plen)
{
    static const char open[] = "=?base64?", close[] = "?=";
    const char *b = raw, *e;
    size_t n;
    uint8_t *bin = NULL;
    char *out;

    *pout = NULL;
    *plen = 0;
    for (const char *p = raw; *p != '\0'; p++)
        if (!field_char_ok((unsigned char)*p))
            return SZ_EINVAL;
    while (*b == ' ' || *b == '\t') /* optional whitespace around the value (RFC 9110 5.5) */
        b++;
    e = b + strlen(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    n = (size_t)(e - b);
    if (n >= sizeof(open) - 1 + sizeof(close) - 1 && strncmp(b, open, sizeof(open) - 1) == 0 &&
        strncmp(e - (sizeof(close) - 1), close, sizeof(close) - 1) == 0) {
        const char *d = b + sizeof(open) - 1;
        size_t dn = n - (sizeof(open) - 1) - (sizeof(close) - 1);
        size_t len = 0;
        /* Strict: padded to whole quanta, the standard alphabet, nothing else
         * (our decoder also takes unpadded and wrapped input; a header may not). */
        if (dn % 4 != 0 || strcspn(d, " \t") < dn)
            return SZ_EINVAL;
        if (sz_b64_decode_alloc(d, dn, &bin, &len) != 0)
            return SZ_EINVAL;
        out = malloc(len + 1);
        if (out == NULL) {
            free(bin);
            return SZ_ENOMEM;
        }
        memcpy(out, bin, len);
        out[len] = '\0';
        free(bin);
        *pout = out;
        *plen = len;
        return 0;
    }
    out = malloc(n + 1);
    if (out == NULL)
        return SZ_ENOMEM;
    memcpy(out, b, n);
    out[n] = '\0';
    *pout = out;
    *plen = n;
    return 0;
}
