/* One error table for the whole server.
 *
 * Functions return 0 on success and a negative code on failure. Codes from
 * libuv (negative errno values) pass through unchanged; our own codes live far
 * below them so the two spaces never collide. SZ_EPENDING is not a failure: it
 * tells the caller that the operation continues and will report later. */
#ifndef SZ_ERR_H
#define SZ_ERR_H

#define SZ_ERRNO_MAP(X)                                                                            \
    X(PENDING, "operation continues asynchronously")                                               \
    X(NOMEM, "out of memory")                                                                      \
    X(INVAL, "invalid argument")                                                                   \
    X(NOTFOUND, "not found")                                                                       \
    X(EXISTS, "file exists")                                                                       \
    X(TRAVERSAL, "path traversal detected")                                                        \
    X(SYMLINK, "symbolic link refused")                                                            \
    X(NOTREG, "not a regular file")                                                                \
    X(TOOBIG, "too large")                                                                         \
    X(UNSUPPORTED, "unsupported file type")                                                        \
    X(CANCELLED, "cancelled")                                                                      \
    X(UPSTREAM, "upstream error")                                                                  \
    X(TIMEOUT, "timed out")                                                                        \
    X(IO, "input/output error")                                                                    \
    X(PROTO, "protocol error")                                                                     \
    X(CORRUPT, "corrupt data")                                                                     \
    X(NOKEY, "API key is not configured")                                                          \
    X(BUSY, "too many concurrent operations")                                                      \
    X(RETIRED, "the provider retired this API")

enum sz_err {
    SZ_OK = 0,
    SZ_ERR_BASE_ = -20000,
#define SZ_ERR_ENUM_(name, msg) SZ_E##name,
    SZ_ERRNO_MAP(SZ_ERR_ENUM_)
#undef SZ_ERR_ENUM_
        SZ_ERR_END_
};

/* Static text for any code: ours, or a libuv/errno code. Never NULL. */
const char *sz_strerror(int err);
/* Symbolic name ("SZ_ENOTFOUND", "ENOENT"). Never NULL. */
const char *sz_errname(int err);

#endif
