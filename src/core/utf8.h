/* Cutting UTF-8 text short without splitting a character: for the parts of a
 * client's or an upstream's text echoed into a message, which must stay valid
 * UTF-8 to be sent as JSON, and for names shortened to fit a limit. Pure; any
 * thread. */
#ifndef SZ_CORE_UTF8_H
#define SZ_CORE_UTF8_H

#include <stddef.h>

/* How many of the len bytes at s to keep: len when it is at most max, else at
 * most max, backed up to the start of the character that would be split. */
static inline size_t sz_utf8_prefix(const char *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;

    if (n < len)
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    return n;
}

#endif
