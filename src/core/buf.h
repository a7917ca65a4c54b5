/* A growable byte buffer, always NUL-terminated past its length.
 *
 * For bodies and texts assembled piece by piece (an HTTP body arriving in
 * chunks, a message built from parts). A limit bounds its growth, so a peer
 * that sends without end gets SZ_ETOOBIG rather than all our memory.
 * Owns its memory: sz_buf_free releases it, sz_buf_steal hands it over.
 * Not thread-safe; cheap to embed (zero-initialised is an empty buffer with
 * no limit). */
#ifndef SZ_CORE_BUF_H
#define SZ_CORE_BUF_H

#include <stddef.h>

struct sz_buf {
    char *data; /* NULL until the first append; then data[len] == '\0' */
    size_t len;
    size_t cap;
    size_t limit; /* 0: unbounded; otherwise len never exceeds it */
};

/* An empty buffer that never holds more than limit bytes (0: no limit). */
void sz_buf_init(struct sz_buf *b, size_t limit);

/* Appends len bytes. 0, SZ_ETOOBIG (past the limit; nothing appended) or
 * SZ_ENOMEM (nothing appended). */
int sz_buf_append(struct sz_buf *b, const void *data, size_t len);

/* Appends a NUL-terminated string. Same results as sz_buf_append. */
int sz_buf_puts(struct sz_buf *b, const char *s);

/* Appends formatted text. Same results as sz_buf_append. */
int sz_buf_printf(struct sz_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forgets the contents but keeps the memory (and the limit) for reuse. */
void sz_buf_reset(struct sz_buf *b);

/* Releases the memory; the buffer is empty again (the limit is kept). */
void sz_buf_free(struct sz_buf *b);

/* Hands the contents to the caller (malloc'd, NUL-terminated, *plen bytes
 * when plen is not NULL; an empty buffer gives "" rather than NULL, or NULL
 * when even that cannot be allocated) and leaves the buffer empty. */
char *sz_buf_steal(struct sz_buf *b, size_t *plen);

#endif
