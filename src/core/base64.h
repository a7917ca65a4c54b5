/* Base64 (RFC 4648, standard alphabet "A-Za-z0-9+/") for MB-sized payloads.
 *
 * Binary data inside JSON (a file in a response field, a `data:` URL in a
 * request) travels as base64, often several megabytes of it. Neither direction
 * allocates; the `_alloc` variants size the output themselves. All functions
 * are pure and thread-safe: they are meant to run on a pool thread for large
 * inputs.
 *
 * Why encoding is OpenSSL's and decoding is ours (8 MiB of random bytes, 11.2 MB
 * of base64, a large payload of that kind; bench/base64.c, best of 30
 * runs on this project's 2-core machine, and callgrind instruction counts):
 *   encode  ours 5.0 ms, 89.5 M instr   EVP_EncodeBlock 4.8 ms, 86.7 M instr
 *   decode  ours 4.4 ms, 81.1 M instr   EVP_DecodeUpdate 24.9 ms, 416.6 M instr
 *                                       (EVP_DecodeBlock 5.3 ms, 103.5 M instr,
 *                                       but it keeps the zero bytes of "="
 *                                       padding and refuses inner whitespace)
 * So encoding uses EVP_EncodeBlock (libcrypto is linked already), and decoding
 * keeps the table-driven decoder below: 5.1 times faster than OpenSSL's
 * streaming decoder and stricter than its block decoder.
 *
 * Decoding rules (strict about structure, tolerant about layout):
 * - ASCII whitespace (space, \t, \n, \r, \f, \v) anywhere is skipped, so
 *   MIME-style wrapped lines decode.
 * - A final group of 2 or 3 characters may be padded with "=" to 4 or left
 *   unpadded. Padding anywhere else, the wrong number of "=", data after the
 *   padding, or a lone final character is an error.
 * - Any other character outside the alphabet (including "-" and "_" of the
 *   URL-safe alphabet) is an error.
 * - Unused low bits of the last character are ignored (not checked for zero),
 *   as most decoders do. */
#ifndef SZ_BASE64_H
#define SZ_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters sz_b64_encode writes for n input bytes, excluding the NUL:
 * 4 * ceil(n / 3). Returns 0 (and the encoders fail) when that would overflow
 * size_t. */
size_t sz_b64_encoded_len(size_t n);

/* Encodes n bytes of src into dst, padded, without line breaks, and
 * NUL-terminates it. dst must hold sz_b64_encoded_len(n) + 1 bytes (borrowed).
 * Returns the number of characters written, excluding the NUL. */
size_t sz_b64_encode(const void *src, size_t n, char *dst);

/* Like sz_b64_encode into a fresh buffer: *pout is malloc'd and NUL
 * terminated (the caller frees it with free()), *plen (may be NULL) gets its
 * length. Returns 0, SZ_ENOMEM or SZ_ETOOBIG (length overflow). */
int sz_b64_encode_alloc(const void *src, size_t n, char **pout, size_t *plen);

/* An upper bound on the bytes sz_b64_decode produces from n input characters,
 * whatever they hold: floor(3n / 4). Exact for unpadded input without
 * whitespace. */
size_t sz_b64_decoded_maxlen(size_t n);

/* Decodes n characters of src (need not be NUL terminated; borrowed) into dst,
 * which must hold sz_b64_decoded_maxlen(n) bytes. On success returns 0 and sets
 * *pdstlen to the number of bytes written. Malformed input (see the rules
 * above) returns SZ_ECORRUPT; dst may then hold partial output. */
int sz_b64_decode(const char *src, size_t n, uint8_t *dst, size_t *pdstlen);

/* Like sz_b64_decode into a fresh malloc'd buffer (*pout, freed by the caller
 * with free(); never NULL on success, even for empty output). Returns 0,
 * SZ_ECORRUPT or SZ_ENOMEM; on failure *pout is NULL. */
int sz_b64_decode_alloc(const char *src, size_t n, uint8_t **pout, size_t *plen);

#endif
