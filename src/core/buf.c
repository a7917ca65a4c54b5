/* The growable buffer of buf.h: doubling growth, a hard limit, always a NUL
 * after the last byte so text can be used in place. */
#include "fmacros.h"

#include "core/buf.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 256

void sz_buf_init(struct sz_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->limit = limit;
}

/* Makes room for need more bytes plus the NUL. */
static int reserve(struct sz_buf *b, size_t need)
{
    size_t want, cap;
    char *p;

    if (b->limit != 0 && (need > b->limit || b->len > b->limit - need))
        return SZ_ETOOBIG;
    if (need > SIZE_MAX - 1 - b->len)
        return SZ_ENOMEM;
    want = b->len + need + 1;
    if (want <= b->cap)
        return 0;
    cap = b->cap ? b->cap : MIN_CAP;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL)
        return SZ_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int sz_buf_append(struct sz_buf *b, const void *data, size_t len)
{
    int rc = reserve(b, len);
    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int sz_buf_puts(struct sz_buf *b, const char *s)
{
    return sz_buf_append(b, s, strlen(s));
}

int sz_buf_printf(struct sz_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SZ_EINVAL;
    if ((rc = reserve(b, (size_t)n)) != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sz_buf_reset(struct sz_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void sz_buf_free(struct sz_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *sz_buf_steal(struct sz_buf *b, size_t *plen)
{
    char *p = b->data;
    size_t len = b->len;

    if (p == NULL)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    if (plen != NULL)
        *plen = p ? len : 0;
    return p;
}
