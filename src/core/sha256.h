/* SHA-256 with hex output: a thin, incremental wrapper over OpenSSL's EVP.
 *
 * Used to fingerprint files and payloads (content hashes in results and
 * logs) without pulling OpenSSL headers into every module. A context is
 * single-threaded: one thread updates it at a time, but any thread may use
 * its own context (EVP is thread-safe for independent contexts), so hashing
 * MB-sized data belongs on a pool thread.
 *
 * Lifecycle: sz_sha256_init, any number of sz_sha256_update, then either
 * sz_sha256_final_hex or sz_sha256_discard. Both release the context and
 * are safe to call again (no-ops) afterwards. */
#ifndef SZ_SHA256_H
#define SZ_SHA256_H

#include <stddef.h>

/* 64 lowercase hex digits; buffers take SZ_SHA256_HEX_LEN + 1 with the NUL. */
#define SZ_SHA256_HEX_LEN 64

struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX */

/* Embeddable by value; treat the member as private. */
struct sz_sha256 {
    struct evp_md_ctx_st *ctx;
};

/* Starts a digest. Returns 0, SZ_ENOMEM or SZ_EIO (OpenSSL failure); on
 * failure nothing needs releasing. */
int sz_sha256_init(struct sz_sha256 *h);

/* Hashes len more bytes of data (borrowed; may be NULL when len is 0).
 * Returns 0, SZ_EINVAL (context not initialised or already finished) or
 * SZ_EIO. */
int sz_sha256_update(struct sz_sha256 *h, const void *data, size_t len);

/* Finishes the digest, writes 64 lowercase hex digits and a NUL to hex, and
 * releases the context (also on failure). Returns 0, SZ_EINVAL or SZ_EIO. */
int sz_sha256_final_hex(struct sz_sha256 *h, char hex[SZ_SHA256_HEX_LEN + 1]);

/* Releases the context without finishing; safe on a finished or
 * zero-initialised context. */
void sz_sha256_discard(struct sz_sha256 *h);

/* One shot: the hex digest of len bytes of data. Returns as above. */
int sz_sha256_hex(const void *data, size_t len, char hex[SZ_SHA256_HEX_LEN + 1]);

#endif
